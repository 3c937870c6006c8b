"""The scheduling engine wired into the production engine's material proposals (物料约束, issue 21 item 5).

The engine hook ``production.material_proposal`` — what the core pack's rules ``core_material_proposal``
(a purchase order's lines or status changed) and ``core_lot_block_proposal`` (a lot blocked or put in
quarantine) call — runs :func:`mom.engines.production.material_proposals.propose_material` with
:func:`solve_stable`: the plant's problem solved again with the plan in force as the previous schedule,
so that the fewest operations move (stability right after the main objective).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.scheduling import problem as P
from mom.engines.scheduling import solution, solver
from mom.platform.hookspecs import hookimpl
from mom.platform.replanning import BREAKDOWN_SECONDS, _previous, _workers


def solve_stable(problem: dict[str, Any], current: list[dict[str, Any]], time_limit: float) -> dict[str, Any]:
    """``material_proposals.SolveStable``: ``problem`` solved close to ``current`` (the plan in force)."""
    prob = P.load(problem)
    prev = _previous(prob, current, time_limit)
    res = solver.solve(prob, time_limit=time_limit, workers=_workers(), previous=prev)
    return solution.to_json(res.problem, res.schedule, violations=res.violations)


def material_proposal(rt: Any, args: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """Engine hook ``production.material_proposal``: args ``{purchase_order: id}`` or ``{lot: id}``."""
    from mom.engines.production import material_proposals

    for form in ("purchase_order", "lot"):
        if args.get(form) is not None:
            return material_proposals.propose_material(rt.conn, rt.forms, rt.ctx, form, int(args[form]),
                                                       solve_stable=solve_stable, time_limit=BREAKDOWN_SECONDS)
    return {"skipped": "the rule named neither a purchase order nor a lot"}


@hookimpl
def mom_engine_hooks() -> dict[str, Any]:
    """``production.material_proposal``: a component late or a lot blocked -> a pending schedule proposal."""
    return {"production.material_proposal": material_proposal}
