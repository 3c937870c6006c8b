"""Large problems: warm starts that CP-SAT accepts as they are, time-window LNS, dispatching variants."""
from __future__ import annotations

import random

import pytest
from ortools.sat.python import cp_model

from mom.engines.scheduling import checker, cpmodel, dispatch, generate, lns, problem as P
from mom.engines.scheduling.clock import WorkClock
from mom.engines.scheduling.schedule import fill_setups, terms


@pytest.fixture(scope="module")
def factory() -> P.Problem:
    # alternative machines, colour/family changeovers, two shifts with breaks, min waits, transfer batches
    return P.load(generate.factory(orders=40, machines=9, seed=5, days=6))


def _fixed_to_hint(md: cpmodel.Model) -> str:
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = 30
    solver.parameters.num_workers = 1
    return solver.StatusName(solver.Solve(md.m))


def test_a_feasible_schedule_is_a_feasible_hint_with_alternative_machines_and_changeovers(factory: P.Problem) -> None:
    # regression: an operation that could also run on another machine is a node of that machine's
    # changeover circuit as well; hinting its neighbours there too made every such hint infeasible
    sched = dispatch.dispatch(factory, "atc")
    fill_setups(factory, sched)
    assert checker.check(factory, sched) == []
    md = cpmodel.build(factory, factory.horizon)
    cpmodel.hint(md, sched)
    assert _fixed_to_hint(md) in ("OPTIMAL", "FEASIBLE")


def test_every_window_solution_is_feasible_for_the_whole_problem(factory: P.Problem) -> None:
    sched = dispatch.dispatch(factory, "edd")
    fill_setups(factory, sched)
    rnd = random.Random(3)
    solved = 0
    for step in range(4):
        window = lns._window(factory, sched, rnd, 40)
        assert window is not None
        t, h, free = window
        assert all(t <= sched.assignments[i].start and sched.assignments[i].end <= h for i in free)
        got = lns._solve_window(factory, sched, t, h, free, time_limit=3, workers=1, seed=step, clock=WorkClock())
        if got is None:
            continue
        solved += 1
        fill_setups(factory, got)
        assert checker.check(factory, got) == []
        moved = [i for i, (a, b) in enumerate(zip(sched.assignments, got.assignments)) if (a.start, a.mode) != (b.start, b.mode)]
        assert set(moved) <= free          # nothing outside the window moved
    assert solved >= 1


def test_lns_improves_a_poor_schedule_and_keeps_it_feasible(factory: P.Problem) -> None:
    start = dispatch.dispatch(factory, "spt")       # a poor start for weighted tardiness
    fill_setups(factory, start)
    before = terms(factory, start)["weighted_tardiness"]
    out = lns.improve(factory, start, budget=4, workers=1, seed=1, window_ops=50, clock=WorkClock())
    assert checker.check(factory, out) == []
    assert out.stats["lns"]["steps"] >= 2
    assert terms(factory, out)["weighted_tardiness"] < before
    assert out.method == "cp-sat:lns"


def test_shift_left_keeps_the_order_and_ends_nothing_later(factory: P.Problem) -> None:
    base = dispatch.dispatch(factory, "atc")
    again = dispatch.shift_left(factory, base)
    fill_setups(factory, again)
    assert checker.check(factory, again) == []
    # the same order everywhere, so no operation ends later than it did
    assert all(b.end <= a.end for a, b in zip(base.assignments, again.assignments))


@pytest.mark.parametrize("rule", ["atc:8:0.5", "atc:8:1:0", "atc:4:2:0.5:7"])
def test_parameterised_atc_rules_give_feasible_schedules(factory: P.Problem, rule: str) -> None:
    s = dispatch.dispatch(factory, rule)
    fill_setups(factory, s)
    assert s.complete() and checker.check(factory, s) == []
    assert dispatch.parse_rule(rule)[0] == "atc"


def test_non_delay_window_changes_the_schedule(factory: P.Problem) -> None:
    # delta 0 lets only the operations that can start first compete: a different (non-delay) schedule
    a = dispatch.dispatch(factory, "atc:8:1:1")
    b = dispatch.dispatch(factory, "atc:8:1:0")
    assert [x.start for x in a.assignments] != [x.start for x in b.assignments]


def test_breakdown_repair_keeps_the_order_and_moves_only_what_must_move() -> None:
    raw = generate.factory(orders=40, machines=9, seed=5, days=6)
    prob = P.load(raw)
    base = dispatch.dispatch(prob, "atc")
    fill_setups(prob, base)
    machine = max(prob.resources, key=lambda r: sum(a.end - a.start for i, a in enumerate(base.assignments)
                                                    if prob.ops[i].modes[a.mode].resource == r.index))
    t = max(a.end for a in base.assignments) // 3
    broken = {**raw, "resources": [dict(r) for r in raw["resources"]]}
    broken["resources"][machine.index]["downtime"] = [[t, t + 480]]
    prob2 = P.load(broken)
    assert checker.check(prob2, base) != []                   # the old plan no longer holds
    rep = dispatch.shift_left(prob2, base)
    fill_setups(prob2, rep)
    assert checker.check(prob2, rep) == []
    moved = [i for i, (a, b) in enumerate(zip(base.assignments, rep.assignments)) if (a.start, a.mode) != (b.start, b.mode)]
    assert all(base.assignments[i].end > t for i in moved) or not moved     # nothing that finished before it moved
    assert 0 < len(moved) < len(prob.ops) // 2
    assert all(a.mode == b.mode for a, b in zip(base.assignments, rep.assignments))   # every operation stays on its machine


def test_reschedule_keeps_the_repaired_plan_when_stability_weighs_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    from mom.engines.scheduling import reschedule, solver

    monkeypatch.setattr(solver, "ARC_LIMIT", 10)        # the large-problem path, as on a real plant
    raw = generate.factory(orders=40, machines=9, seed=5, days=6)
    raw["objective"] = {"mode": "weighted", "terms": ["weighted_tardiness", "changes"],
                        "weights": {"weighted_tardiness": 1, "changes": 100000}}
    base = solver.solve(raw, time_limit=2, deterministic=True)
    prob = base.problem
    busy = max(prob.resources, key=lambda r: sum(a.end - a.start for i, a in enumerate(base.schedule.assignments)
                                                 if prob.ops[i].modes[a.mode].resource == r.index))
    t = max(a.end for a in base.schedule.assignments) // 3
    out = reschedule.breakdown(raw, base.schedule, resource=busy.id, start=t, end=t + 480, time_limit=2,
                               deterministic=True)
    assert out["check"]["feasible"]
    repair = out["solver"]["repair_objective"]
    assert out["method"] == "repair" and out["changes"]["moved"] <= repair["changes"]
    started_after = sum(1 for a in base.schedule.assignments if a.start >= t)
    assert out["changes"]["moved"] < started_after          # not everything after the breakdown moved


def test_lns_windows_handle_every_resource_kind() -> None:
    # the docs example: batch oven, work centre, operators with skills, moulds, transfer batches, waits, materials
    import json
    from pathlib import Path

    raw = json.loads((Path(__file__).resolve().parents[2] / "docs/examples/scheduling/pump-valve.json").read_text("utf-8"))
    prob = P.load(raw)
    start = dispatch.dispatch(prob, "spt")
    fill_setups(prob, start)
    out = lns.improve(prob, start, budget=2, workers=1, seed=2, window_ops=6, clock=WorkClock())
    assert checker.check(prob, out) == []
    assert out.stats["lns"]["steps"] >= 1 and "refused_windows" not in out.stats["lns"]
    assert terms(prob, out)["weighted_tardiness"] <= terms(prob, start)["weighted_tardiness"]


def test_a_deterministic_solve_gives_the_same_schedule_every_time() -> None:
    # a deterministic limit counts work, not seconds: two workers interleaved, LNS windows and restarts
    # included, the answer does not depend on the machine's load
    from mom.engines.scheduling import solver

    raw = generate.factory(orders=8, machines=10, seed=3)
    runs = [solver.solve(raw, time_limit=0.5, workers=2, seed=1, deterministic=True) for _ in range(2)]
    first, second = ([(a.mode, a.start, a.end, a.secondary) for a in r.schedule.assignments] for r in runs)
    assert first == second and runs[0].schedule.method == runs[1].schedule.method
    start = dispatch.dispatch(runs[0].problem, "spt")
    fill_setups(runs[0].problem, start)
    outs = [lns.improve(runs[0].problem, start, budget=1.2, workers=1, seed=3, window_ops=20, clock=WorkClock())
            for _ in range(2)]
    assert [a.start for a in outs[0].assignments] == [a.start for a in outs[1].assignments]
    assert outs[0].stats["lns"]["steps"] == outs[1].stats["lns"]["steps"] >= 1
