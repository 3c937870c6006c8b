"""Rescheduling (breakdown, rush order), dispatching, rolling windows and the `mom schedule` CLI."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mom.engines.scheduling import checker, dispatch, generate, problem as P, reschedule, solution, solver
from mom.engines.scheduling.schedule import fill_setups, terms
from mom.platform.cli.main import main
from mom.platform.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "scheduling" / "pump-valve.json"


@pytest.fixture(scope="module")
def pump() -> tuple[dict[str, Any], solver.Result]:
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    res = solver.solve(raw, time_limit=5, deterministic=True)
    assert res.violations == []
    return raw, res


def test_breakdown_split_keeps_the_past_and_moves_work_off_the_machine(pump: Any) -> None:
    raw, base = pump
    prob, sched = base.problem, base.schedule
    # break the CNC machine in the middle of the first operation that runs on it
    cnc = [i for i, a in enumerate(sched.assignments) if prob.resources[prob.ops[i].modes[a.mode].resource].id.startswith("CNC")]
    victim = min(cnc, key=lambda i: sched.assignments[i].start)
    a = sched.assignments[victim]
    rid = prob.resources[prob.ops[victim].modes[a.mode].resource].id
    t = a.start + 1 + (a.end - a.start) // 2
    doc = reschedule.breakdown(raw, sched, resource=rid, start=t, end=t + 600, policy="split", time_limit=3,
                              deterministic=True)
    assert doc["check"]["feasible"] and doc["changes"]["breakdown"]["interrupted"] == [prob.ops[victim].key]
    rows = {(r["order"], r["operation"]): r for r in doc["operations"]}
    done = rows[(prob.ops[victim].order_id, f"{prob.ops[victim].id}#done")]
    assert (done["start"], done["end"], done["resource"]) == (a.start, t, rid)
    for i, b in enumerate(sched.assignments):       # what started before the breakdown did not move
        if b.start < t and i != victim:
            row = rows[(prob.ops[i].order_id, prob.ops[i].id)]
            assert (row["start"], row["end"]) == (b.start, b.end)
    for r in doc["operations"]:                       # nothing new on the broken machine while it is down
        if r["resource"] == rid and not r.get("pinned"):
            assert r["end"] <= t or r["start"] >= t + 600
    assert doc["changes"]["moved"] == len(doc["changes"]["moved_operations"]) >= 1


def test_breakdown_restart_redoes_the_whole_operation(pump: Any) -> None:
    raw, base = pump
    prob, sched = base.problem, base.schedule
    i = min(range(len(sched.assignments)), key=lambda i: sched.assignments[i].start)
    a = sched.assignments[i]
    rid = prob.resources[prob.ops[i].modes[a.mode].resource].id
    t = a.start + 1
    doc = reschedule.breakdown(raw, sched, resource=rid, start=t, end=None, policy="restart", time_limit=3,
                              deterministic=True)
    assert doc["check"]["feasible"]
    row = next(r for r in doc["operations"] if (r["order"], r["operation"]) == (prob.ops[i].order_id, prob.ops[i].id))
    assert row["start"] >= t and row["end"] - row["start"] >= a.end - a.start
    assert not any(r["operation"].endswith("#done") for r in doc["operations"])


def test_rush_order_what_if_reports_who_gets_later(pump: Any) -> None:
    raw, base = pump
    rush = [{"id": "RUSH-1", "quantity": 30, "release": 0, "due": 1500, "weight": 10, "operations": [
        {"id": "machine", "modes": [{"resource": "CNC-1", "unit_time": 4}], "attributes": {"size": "DN50"},
         "needs": [{"skill": "cnc"}]},
        {"id": "test", "modes": [{"resource": "TEST-1", "unit_time": 1.5}], "needs": [{"skill": "test"}]}]}]
    doc = reschedule.rush(raw, base.schedule, rush, now=0, time_limit=3, deterministic=True)
    assert doc["check"]["feasible"]
    assert [r["order"] for r in doc["impact"]["rush"]] == ["RUSH-1"]
    before = {r["order"]: r["completion"] for r in solution.to_json(base.problem, base.schedule)["orders"]}
    for row in doc["impact"]["later"]:
        assert row["delay"] == row["completion"] - before[row["order"]] > 0
    with pytest.raises(InvalidInput):
        reschedule.rush(raw, base.schedule, [], now=0)


def test_reschedule_refuses_unknown_resource(pump: Any) -> None:
    raw, base = pump
    with pytest.raises(InvalidInput) as e:
        reschedule.breakdown(raw, base.schedule, resource="CNC-9", start=10)
    assert e.value.problems[0].path == "/resource"


def test_dispatch_and_rolling_windows_on_a_factory_problem() -> None:
    raw = generate.factory(orders=40, machines=10, seed=3)
    prob = P.load(raw)
    for rule in dispatch.RULES:
        s = dispatch.dispatch(prob, rule)
        fill_setups(prob, s)
        assert s.complete() and checker.check(prob, s) == [], rule
    res = solver.solve(raw, time_limit=2, rolling=True, deterministic=True)
    assert res.violations == [] and res.stats["rolling"]
    edd = dispatch.dispatch(prob, "edd")
    assert terms(res.problem, res.schedule)["weighted_tardiness"] <= terms(prob, edd)["weighted_tardiness"]


def test_warm_start_from_previous_keeps_the_schedule_when_nothing_changed(pump: Any) -> None:
    raw, base = pump
    again = solver.solve(raw, time_limit=3, previous=base.schedule, deterministic=True)
    assert again.violations == [] and again.schedule.stats["moved"] == 0


# ---------------------------------------------------------------- CLI
def test_cli_solve_check_and_tampered_solution(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sol.json"
    r = runner.invoke(main, ["schedule", "solve", str(EXAMPLE), "--time-limit", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "mom.schedule-solution/1" and doc["check"]["feasible"]
    r = runner.invoke(main, ["schedule", "check", str(EXAMPLE), str(out)])
    assert r.exit_code == 0 and "ok" in r.output
    doc["operations"][1]["start"] = 0
    doc["operations"][1]["end"] = 1
    out.write_text(json.dumps(doc), encoding="utf-8")
    r = runner.invoke(main, ["schedule", "check", str(EXAMPLE), str(out)])
    assert r.exit_code == 2 and "WO-001:machine" in r.output
    # reschedule and what-if from the CLI
    good = tmp_path / "good.json"
    runner.invoke(main, ["schedule", "solve", str(EXAMPLE), "--time-limit", "2", "--out", str(good)])
    r = runner.invoke(main, ["schedule", "reschedule", str(EXAMPLE), "--previous", str(good), "--resource", "CNC-1",
                             "--at", "900", "--until", "1500", "--time-limit", "2", "--out", str(tmp_path / "re.json")])
    assert r.exit_code == 0, r.output
    assert "moved operations" in r.output
    rush = tmp_path / "rush.json"
    rush.write_text(json.dumps({"id": "R1", "due": 900, "weight": 5, "operations": [
        {"id": "t", "modes": [{"resource": "TEST-1", "duration": 60}]}]}), encoding="utf-8")
    r = runner.invoke(main, ["schedule", "whatif", str(EXAMPLE), "--previous", str(good), "--rush", str(rush),
                             "--time-limit", "2"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["impact"]["rush"][0]["order"] == "R1"


def test_cli_bad_problem_prints_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "mom.schedule-problem/1", "resources": [{"id": "M1"}],
                               "orders": [{"id": "A", "operations": [{"id": "1", "modes": [{"resource": "M2", "duration": 5}]}]}]}))
    r = CliRunner().invoke(main, ["schedule", "solve", str(bad)])
    assert r.exit_code == 1 and "/orders/0/operations/0/modes/0/resource" in r.output
    r = CliRunner().invoke(main, ["schedule", "solve", str(tmp_path / "missing.json")])
    assert r.exit_code == 1 and "no such file" in r.output


def test_cli_bench_runs_a_classic_instance(tmp_path: Path) -> None:
    from mom.engines.scheduling import bench
    if not (bench.data_dir() / "la01").is_file():
        pytest.skip("benchmark instances (../shared/bench/jsp) are not on this machine")
    out = tmp_path / "b.jsonl"
    r = CliRunner().invoke(main, ["schedule", "bench", "--suite", "la", "--instance", "la01", "--seeds", "1",
                                  "--time-limit", "5", "--out", str(out)])
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text().splitlines()[0])
    assert row["instance"] == "la01" and row["makespan"] == 666 and row["gap"] == 0 and row["feasible"]


def test_large_models_use_dispatching_rules_and_lns_within_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    raw = generate.factory(orders=30, machines=10, seed=5)
    monkeypatch.setattr(solver, "ARC_LIMIT", 10)           # pretend the model is too large for CP-SAT
    t0 = time.perf_counter()
    res = solver.solve(raw, time_limit=6)     # the wall-clock limit is what this test checks
    assert time.perf_counter() - t0 < 10
    assert res.violations == [] and res.stats.get("large_model", "").endswith("CP-SAT windows (LNS)")
    assert res.stats["lns"]["steps"] >= 1
    edd = dispatch.dispatch(res.problem, "edd")
    assert terms(res.problem, res.schedule)["weighted_tardiness"] <= terms(res.problem, edd)["weighted_tardiness"]
