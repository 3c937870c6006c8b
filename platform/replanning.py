"""The scheduling engine wired into the production engine's what-if and schedule proposals.

The production engine may not import the scheduling engine (they are siblings: pyproject's import
contracts), so the composition lives here: :func:`replan` turns the plant's problem and the plan in force
into ``reschedule.rush`` / ``reschedule.breakdown`` calls, and the engine hook
``production.breakdown_proposal`` (what the core pack's rule ``core_breakdown_proposal`` calls when a
machine's status becomes ``down``) is registered through ``mom_engine_hooks`` like any plug-in's.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.scheduling import problem as P
from mom.engines.scheduling import reschedule, solution, solver
from mom.engines.scheduling.schedule import Assignment, Schedule
from mom.platform.hookspecs import hookimpl

#: seconds the breakdown rule's reschedule may think (it runs inside the worker's transaction)
BREAKDOWN_SECONDS = 5.0


def _workers() -> int:
    from mom.platform.settings import get_settings

    return int(get_settings().schedule_workers)


def _previous(prob: P.Problem, current: list[Mapping[str, Any]], time_limit: float) -> Schedule:
    """The plan in force as a schedule of ``prob``; operations it does not place (never planned) are planned
    around it first, so the comparison has a complete 'before'."""
    out: list[Assignment | None] = [None] * len(prob.ops)
    for row in current:
        i = prob.op_by_key.get((row["order"], row["operation"]))
        rid = prob.res_by_id.get(row["resource"])
        if i is None or rid is None:
            continue
        mode = next((k for k, m in enumerate(prob.ops[i].modes) if m.resource == rid), None)
        if mode is not None:
            out[i] = Assignment(mode, int(row["start"]), int(row["end"]))
    sched = Schedule(out)
    if sched.complete():
        return sched
    return solver.solve(prob, time_limit=time_limit, workers=_workers()).schedule


def replan(problem: dict[str, Any], current: list[dict[str, Any]], what: Mapping[str, Any],
           time_limit: float) -> dict[str, Any]:
    """``mom.engines.production.whatif.Replan``: rush orders inserted into, or a breakdown applied to, the plan
    in force; the ``mom.schedule-solution/1`` document with its ``impact`` (who got later, by how much)."""
    workers = _workers()
    if "rush" in what:
        ids = set(what["rush"])
        base = {**problem, "orders": [o for o in problem["orders"] if o["id"] not in ids]}
        rush = [o for o in problem["orders"] if o["id"] in ids]
        if not base["orders"]:                  # nothing else released: the rush order alone
            res = solver.solve(problem, time_limit=time_limit, workers=workers)
            doc = solution.to_json(res.problem, res.schedule, violations=res.violations)
            doc["impact"] = {"later": [], "earlier": [], "newly_late": []}
            return doc
        prob = P.load(base)
        return reschedule.rush(base, _previous(prob, current, time_limit), rush, now=0, time_limit=time_limit,
                               workers=workers)
    bd = what["breakdown"]
    prob = P.load(problem)
    return reschedule.breakdown(problem, _previous(prob, current, time_limit), resource=bd["resource"], start=bd["start"],
                                end=bd.get("end"), time_limit=time_limit, workers=workers)


def breakdown_proposal(rt: Any, args: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """Engine hook ``production.breakdown_proposal``: args ``{machine: id}`` (default the rule's record)."""
    from mom.engines.production import proposals
    from mom.platform.settings import get_settings

    machine = args.get("machine") if args.get("machine") is not None else names.get("id")
    return proposals.propose_breakdown(rt.conn, rt.forms, rt.ctx, int(machine), replan=replan,
                                       hours=float(get_settings().production_breakdown_hours),
                                       time_limit=BREAKDOWN_SECONDS)


@hookimpl
def mom_engine_hooks() -> dict[str, Any]:
    """``production.breakdown_proposal``: a machine down -> a pending schedule proposal."""
    return {"production.breakdown_proposal": breakdown_proposal}
