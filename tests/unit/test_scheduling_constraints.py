"""Each constraint kind of the scheduling engine: the solver's optimum differs from the optimum
without that constraint (so ignoring it fails the test), and the independent checker flags a
schedule that breaks it. Every solution returned here passes the checker."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from mom.engines.scheduling import checker, problem as P, solver
from mom.engines.scheduling.schedule import Assignment, terms
from mom.platform.errors import InvalidInput


def prob(resources: list[Any], orders: list[Any], **extra: Any) -> dict[str, Any]:
    res = [r if isinstance(r, dict) else {"id": r} for r in resources]
    return {"format": "mom.schedule-problem/1", "resources": res, "orders": orders, **extra}


def op(id: str, *modes: tuple[str, int], **extra: Any) -> dict[str, Any]:
    return {"id": id, "modes": [{"resource": r, "duration": d} for r, d in modes], **extra}


def solve(raw: dict[str, Any], limit: float = 5.0) -> solver.Result:
    res = solver.solve(raw, time_limit=limit, workers=2, deterministic=True)
    assert res.violations == [], res.violations
    assert checker.check(res.problem, res.schedule) == []
    return res


def at(res: solver.Result, order: str, op_id: str) -> Assignment:
    return res.schedule.assignments[res.problem.op_by_key[(order, op_id)]]


def makespan(res: solver.Result) -> int:
    return int(terms(res.problem, res.schedule)["makespan"])


def kinds(res: solver.Result) -> set[str]:
    return {v.kind for v in checker.check(res.problem, res.schedule)}


def test_routing_precedence_and_alternative_machines() -> None:
    raw = prob(["M1", "M2", "M3"], [{"id": "A", "operations": [op("10", ("M1", 3)), op("20", ("M2", 10), ("M3", 4))]}])
    res = solve(raw)
    assert makespan(res) == 7 and res.problem.resources[res.problem.ops[1].modes[at(res, "A", "20").mode].resource].id == "M3"
    at(res, "A", "20").start = 1
    at(res, "A", "20").end = 5
    assert "precedence" in kinds(res)


def test_dag_routing_assembly_waits_for_both_parts() -> None:
    raw = prob(["M1", "M2", "M3"], [{"id": "A", "operations": [
        op("body", ("M1", 5)), op("bonnet", ("M2", 8), after=[]), op("assy", ("M3", 2), after=["body", "bonnet"])]}])
    res = solve(raw)
    assert at(res, "A", "assy").start == 8 and makespan(res) == 10


def test_sequence_dependent_setups_light_to_dark() -> None:
    raw = prob([{"id": "M1", "setups": ["colour"]}],
               [{"id": "D", "operations": [op("p", ("M1", 5), attributes={"colour": "dark"})]},
                {"id": "L", "operations": [op("p", ("M1", 5), attributes={"colour": "light"})]}],
               setup_matrices={"colour": {"default": 10, "rules": [{"from": "light", "to": "dark", "time": 1}]}})
    res = solve(raw)
    assert makespan(res) == 11            # light first, then the cheap change to dark (ignoring setups: 10)
    assert at(res, "L", "p").start < at(res, "D", "p").start and at(res, "D", "p").setup == 1
    assert terms(res.problem, res.schedule)["setup_time"] == 1
    a, b = at(res, "L", "p"), at(res, "D", "p")
    b.start, b.end = a.end, a.end + 5        # no time for the changeover
    assert "overlap" in kinds(res)


def test_initial_machine_state_costs_a_changeover() -> None:
    raw = prob([{"id": "M1", "initial": {"colour": "dark"}}],
               [{"id": "L", "operations": [op("p", ("M1", 5), attributes={"colour": "light"})]}],
               setup_matrices={"colour": {"default": 7}})
    assert at(solve(raw), "L", "p").start == 7


@pytest.mark.parametrize("pausable,end", [(False, 28), (True, 23)])
def test_calendar_breaks_pause_or_move_an_operation(pausable: bool, end: int) -> None:
    raw = prob([{"id": "M1", "calendar": "c"}],
               [{"id": "A", "operations": [op("10", ("M1", 5)), op("20", ("M1", 8), pausable=pausable)]}],
               calendars={"c": {"intervals": [[0, 10], [20, 30]]}})
    res = solve(raw)
    assert at(res, "A", "20").end == end
    a = at(res, "A", "20")
    a.start, a.end = 5, 13                   # straight through the break
    assert "calendar" in kinds(res)


def test_shift_pattern_workdays_and_holidays() -> None:
    # origin is a Monday; Tuesday is a holiday; one 08:00-12:00 shift
    raw = prob([{"id": "M1", "calendar": "c"}], [{"id": "A", "operations": [op("10", ("M1", 300))]}],
               origin="2026-11-23T00:00:00+08:00",
               calendars={"c": {"shifts": [["08:00", "12:00"]], "workdays": [1, 2, 3, 4, 5], "holidays": ["2026-11-24"]}})
    res = solve(raw)
    # 240 minutes on Monday, the remaining 60 on Wednesday 08:00-09:00
    assert at(res, "A", "10").start == 480 and at(res, "A", "10").end == 2 * 1440 + 540


def test_machine_downtime_is_respected() -> None:
    raw = prob([{"id": "M1", "downtime": [[5, 50]]}], [{"id": "A", "operations": [op("10", ("M1", 10), pausable=False)]}])
    assert at(solve(raw), "A", "10").start == 50


def test_transfer_batch_overlaps_operations() -> None:
    raw = prob(["M1", "M2"], [{"id": "A", "quantity": 10, "operations": [
        {"id": "10", "modes": [{"resource": "M1", "unit_time": 1}]},
        {"id": "20", "modes": [{"resource": "M2", "unit_time": 1}], "transfer_batch": 2}]}])
    res = solve(raw)
    assert makespan(res) == 12 and at(res, "A", "20").start >= 2    # without overlap: 20
    a = at(res, "A", "20")
    a.start, a.end = 1, 11
    assert "precedence" in kinds(res)


def test_min_and_max_wait() -> None:
    raw = prob(["M1", "M2"], [{"id": "A", "operations": [op("10", ("M1", 5)), op("20", ("M2", 5), min_wait=30)]}])
    assert makespan(solve(raw)) == 40
    # M2 is taken until 10 by a pinned job; with max_wait 0 the first step must wait so the second can follow at once
    raw = prob(["M1", "M2"], [
        {"id": "B", "operations": [op("x", ("M2", 10), pinned={"resource": "M2", "start": 0})]},
        {"id": "A", "operations": [op("10", ("M1", 5)), op("20", ("M2", 5), max_wait=0)]}])
    res = solve(raw)
    assert at(res, "A", "20").start == at(res, "A", "10").end == 10
    at(res, "A", "10").start, at(res, "A", "10").end = 0, 5
    assert "max_wait" in kinds(res)


def test_workcenter_capacity() -> None:
    raw = prob([{"id": "WC", "kind": "workcenter", "capacity": 2}],
               [{"id": f"O{i}", "operations": [op("10", ("WC", 10))]} for i in range(3)])
    res = solve(raw)
    assert makespan(res) == 20
    for i in range(3):
        at(res, f"O{i}", "10").start, at(res, f"O{i}", "10").end = 0, 10
    assert "capacity" in kinds(res)


@pytest.mark.parametrize("families,expected", [(("a", "a", "a"), 20), (("a", "b", "a"), 20), (("a", "b", "c"), 30)])
def test_batch_resource_runs_a_family_together(families: tuple[str, ...], expected: int) -> None:
    raw = prob([{"id": "OVEN", "kind": "batch", "capacity": 2}],
               [{"id": f"O{i}", "operations": [op("heat", ("OVEN", 10), batch_family=f)]} for i, f in enumerate(families)])
    res = solve(raw)
    assert makespan(res) == expected
    starts = [at(res, f"O{i}", "heat").start for i in range(3)]
    assert len(set(starts)) == (3 if expected == 30 else 2)
    if expected == 20:
        for i in range(3):
            at(res, f"O{i}", "heat").start, at(res, f"O{i}", "heat").end = 0, 10
        assert "capacity" in kinds(res) or "batch" in kinds(res)


def test_operator_skills_and_tools_are_secondary_resources() -> None:
    raw = prob(["M1", "M2", {"id": "ZHANG", "kind": "operator", "skills": ["weld"]},
                {"id": "WANG", "kind": "operator", "skills": ["paint"]}, {"id": "MOULD", "kind": "tool"}],
               [{"id": "A", "operations": [op("10", ("M1", 10), needs=[{"skill": "weld"}])]},
                {"id": "B", "operations": [op("10", ("M2", 10), needs=[{"skill": "weld"}])]},
                {"id": "C", "operations": [op("10", ("M1", 4), needs=[{"resource": "MOULD"}])]},
                {"id": "D", "operations": [op("10", ("M2", 4), needs=[{"resource": "MOULD"}])]}])
    res = solve(raw)
    assert at(res, "A", "10").secondary == (res.problem.res_by_id["ZHANG"],)
    a, b = at(res, "A", "10"), at(res, "B", "10")
    assert a.end <= b.start or b.end <= a.start           # one welder
    c, d = at(res, "C", "10"), at(res, "D", "10")
    assert c.end <= d.start or d.end <= c.start           # one mould
    assert makespan(res) == 20                            # the welder is the bottleneck: 10 + 10
    b.start, b.end = a.start, a.end
    assert {"overlap", "capacity"} & kinds(res)


def test_operator_off_time_and_wrong_skill() -> None:
    raw = prob(["M1", {"id": "ZHANG", "kind": "operator", "skills": ["weld"], "downtime": [[0, 100]]}],
               [{"id": "A", "operations": [op("10", ("M1", 10), needs=[{"skill": "weld"}])]}])
    res = solve(raw)
    assert at(res, "A", "10").start == 100
    at(res, "A", "10").secondary = ()
    assert "secondary" in kinds(res)


def test_material_release_and_frozen_horizon() -> None:
    raw = prob(["M1"], [{"id": "A", "release": 30, "operations": [op("10", ("M1", 5))]},
                        {"id": "B", "operations": [op("10", ("M1", 5), materials=[{"item": "steel", "available": 70}])]}])
    res = solve(raw)
    assert at(res, "A", "10").start == 30 and at(res, "B", "10").start == 70
    raw["frozen_until"] = 100
    res = solve(raw)
    assert min(a.start for a in res.schedule.assignments) == 100
    at(res, "A", "10").start, at(res, "A", "10").end = 10, 15
    assert {"release", "frozen"} <= kinds(res)


def test_pinned_operations_stay() -> None:
    raw = prob(["M1"], [{"id": "A", "operations": [op("10", ("M1", 5), pinned={"resource": "M1", "start": 50})]},
                        {"id": "B", "operations": [op("10", ("M1", 60))]}])
    res = solve(raw)
    assert (at(res, "A", "10").start, at(res, "A", "10").end) == (50, 55)
    assert at(res, "B", "10").start >= 55              # 60 minutes do not fit before the pinned job
    at(res, "A", "10").start, at(res, "A", "10").end = 0, 5
    assert "pinned" in kinds(res)


def test_weighted_tardiness_puts_the_heavy_order_first() -> None:
    raw = prob(["M1"], [{"id": "LIGHT", "due": 10, "weight": 1, "operations": [op("10", ("M1", 10))]},
                        {"id": "HEAVY", "due": 10, "weight": 5, "operations": [op("10", ("M1", 10))]}])
    res = solve(raw)
    assert at(res, "HEAVY", "10").start == 0
    assert terms(res.problem, res.schedule)["weighted_tardiness"] == 10


def test_lexicographic_then_weighted_objectives() -> None:
    orders = [{"id": "A", "due": 100, "operations": [op("10", ("M1", 10), attributes={"c": "x"})]},
              {"id": "B", "due": 100, "operations": [op("10", ("M1", 10), attributes={"c": "y"})]},
              {"id": "C", "due": 100, "operations": [op("10", ("M1", 10), attributes={"c": "x"})]}]
    raw = prob([{"id": "M1", "setups": ["c"]}], orders, setup_matrices={"c": {"default": 15}},
               objective={"terms": ["makespan", "setup_time"]})
    res = solve(raw)
    assert terms(res.problem, res.schedule)["setup_time"] == 15     # x x y: one change
    raw["objective"] = {"mode": "weighted", "weights": {"makespan": 1, "setup_time": 2}}
    assert terms(solve(raw).problem, solve(raw).schedule)["setup_time"] == 15


def test_late_order_is_explained_with_the_resource_that_held_it() -> None:
    from mom.engines.scheduling import solution
    raw = prob(["M1"], [{"id": "BIG", "due": 100, "weight": 10, "operations": [op("10", ("M1", 100))]},
                        {"id": "SMALL", "due": 20, "operations": [op("10", ("M1", 10))]}])
    res = solve(raw)
    doc = solution.to_json(res.problem, res.schedule)
    (exp,) = doc["explanations"]
    assert exp["order"] == "SMALL" and exp["cause"] == "resource" and exp["resource"] == "M1"
    assert "BIG" in exp["message"]["zh-CN"] and "BIG" in exp["message"]["en"]
    assert doc["kpis"]["late_orders"] == 1 and doc["kpis"]["utilisation"]["M1"] == 1.0
    assert {t["id"] for t in doc["gantt"]["tasks"]} == {"BIG:10", "SMALL:10"}


def test_material_shortage_is_explained() -> None:
    from mom.engines.scheduling import solution
    raw = prob(["M1"], [{"id": "A", "due": 50, "operations": [
        op("10", ("M1", 10), materials=[{"item": "铸件", "available": 60}]), op("20", ("M1", 10))]}])
    res = solve(raw)
    (exp,) = solution.to_json(res.problem, res.schedule)["explanations"]
    assert exp["cause"] == "material" and "铸件" in exp["message"]["zh-CN"]


def test_bad_problems_name_the_path() -> None:
    raw = prob(["M1", "M2"], [{"id": "A", "operations": [op("10", ("M11", 5)), op("20", ("M1", 5), after=["x10"])]},
                              {"id": "A", "operations": [op("10", ("M1", 5), needs=[{"skill": "weld"}])]}])
    with pytest.raises(InvalidInput) as e:
        P.load(raw)
    paths = {p.path for p in e.value.problems}
    assert {"/orders/0/operations/0/modes/0/resource", "/orders/0/operations/1/after/0", "/orders/1/id",
            "/orders/1/operations/0/needs/0/skill"} <= paths
    assert any("M1" in p.en and "did you mean" in p.en for p in e.value.problems)


def test_schema_errors_and_impossible_operations() -> None:
    with pytest.raises(InvalidInput) as e:
        P.load({"format": "mom.schedule-problem/1", "resources": [{"id": "M1", "kind": "robot"}], "orders": [
            {"id": "A", "operations": [{"id": "10", "modes": [{"resource": "M1", "duration": -1}]}]}], "objectiv": {}})
    paths = {p.path for p in e.value.problems}
    assert {"/resources/0/kind", "/orders/0/operations/0/modes/0/duration", "/objectiv"} <= paths
    raw = prob([{"id": "M1", "calendar": "c"}], [{"id": "A", "operations": [op("10", ("M1", 50), pausable=False)]}],
               calendars={"c": {"shifts": [["08:00", "08:30"]], "workdays": [1]}})
    with pytest.raises(InvalidInput) as e:
        P.load(raw)
    paths = {p.path for p in e.value.problems}
    assert "/calendars/c/workdays" in paths and "/orders/0/operations/0/pausable" in paths


def test_solution_round_trips_through_json() -> None:
    from mom.engines.scheduling import solution
    raw = prob(["M1", "M2"], [{"id": "A", "operations": [op("10", ("M1", 3)), op("20", ("M2", 4), ("M1", 4))]}])
    res = solve(raw)
    doc = solution.to_json(res.problem, res.schedule)
    back = solution.from_json(res.problem, copy.deepcopy(doc))
    assert [(a.mode, a.start, a.end) for a in back.assignments] == [(a.mode, a.start, a.end) for a in res.schedule.assignments]
    doc["operations"][0]["resource"] = "M9"
    with pytest.raises(InvalidInput) as e:
        solution.from_json(res.problem, doc)
    assert e.value.problems[0].path == "/operations/0/resource"
