"""``mom schedule bench``: the classic instances against their best-known bounds, the generated
factory problem against EDD dispatching (also with downtime and non-pausable operations), and
rescheduling after a breakdown.

Results are appended to a JSON-lines file as each run ends (an interrupted run keeps what it
measured); ``summarise`` turns them into the tables of docs/benchmarks.md.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mom.engines.scheduling import dispatch, generate, jsp, reschedule, solver
from mom.engines.scheduling.schedule import terms

SUITES = {
    "la": [f"la{i:02d}" for i in range(1, 41)],
    "ta": [f"ta{i:02d}" for i in range(1, 21)],
    "mk": [f"mk{i:02d}" for i in range(1, 11)],
}


def data_dir() -> Path:
    """The benchmark instances: $MOM_JSP_DIR, or ../shared/bench/jsp beside the checkout."""
    env = os.environ.get("MOM_JSP_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for up in here.parents:
        cand = up.parent / "shared" / "bench" / "jsp"
        if cand.is_dir():
            return cand
    return Path("../shared/bench/jsp")


def best_known(name: str, bounds: dict[str, Any]) -> int:
    b = bounds[name]
    return b.get("optimum") or b["upper_bound"]


def instance(name: str, root: Path, bounds: dict[str, Any]) -> dict[str, Any]:
    return jsp.read(root / bounds[name]["file"])


def run_classic(names: Iterable[str], *, time_limit: float, seeds: list[int], workers: int,
                emit: Callable[[dict[str, Any]], None]) -> None:
    root = data_dir()
    bounds = json.loads((root / "bounds.json").read_text())
    for name in names:
        raw = instance(name, root, bounds)
        ref = best_known(name, bounds)
        for seed in seeds:
            t0 = time.perf_counter()
            res = solver.solve(raw, time_limit=time_limit, workers=workers, seed=seed)
            ms = int(terms(res.problem, res.schedule)["makespan"])
            emit({"suite": name[:2], "instance": name, "seed": seed, "time_limit": time_limit, "workers": workers,
                  "makespan": ms, "best_known": ref, "gap": round((ms - ref) / ref, 5), "status": res.schedule.status,
                  "feasible": not res.violations, "seconds": round(time.perf_counter() - t0, 2),
                  "dispatch_makespan": res.stats["dispatch_objective"]["makespan"]})


def run_factory(*, time_limit: float, seeds: list[int], workers: int, emit: Callable[[dict[str, Any]], None],
                orders: int = 300, machines: int = 25) -> None:
    for seed in seeds:
        raw = generate.factory(orders=orders, machines=machines, seed=seed)
        prob = solver.load(raw)
        t0 = time.perf_counter()
        edd = dispatch.dispatch(prob, "edd")
        edd_s = time.perf_counter() - t0
        res = solver.solve(raw, time_limit=time_limit, workers=workers, seed=seed)
        wt = terms(res.problem, res.schedule)["weighted_tardiness"]
        edd_wt = terms(prob, edd)["weighted_tardiness"]
        emit({"suite": "factory", "instance": f"factory-{orders}x{machines}", "seed": seed, "time_limit": time_limit,
              "workers": workers, "operations": len(prob.ops), "edd_weighted_tardiness": edd_wt, "edd_seconds": round(edd_s, 3),
              "weighted_tardiness": wt, "ratio_vs_edd": round(wt / edd_wt, 4) if edd_wt else None,
              "first_feasible_s": res.stats["first_feasible_s"], "status": res.schedule.status,
              "feasible": not res.violations, "rolling": res.stats["rolling"], "seconds": res.stats["seconds"]})


def run_reschedule(*, time_limit: float, seeds: list[int], workers: int, emit: Callable[[dict[str, Any]], None],
                   orders: int = 300, machines: int = 25) -> None:
    for seed in seeds:
        raw = generate.factory(orders=orders, machines=machines, seed=seed)
        base = solver.solve(raw, time_limit=time_limit, workers=workers, seed=seed)
        ms = int(terms(base.problem, base.schedule)["makespan"])
        at = ms // 4
        busiest = max(base.problem.resources, key=lambda r: sum(a.end - a.start for i, a in enumerate(base.schedule.assignments)
                                                                 if base.problem.ops[i].modes[a.mode].resource == r.index))
        t0 = time.perf_counter()
        out = reschedule.breakdown(raw, base.schedule, resource=busiest.id, start=at, end=at + 480, policy="split",
                                   time_limit=5.0, workers=workers, seed=seed)
        repair = out["solver"].get("repair_objective") or {}
        emit({"suite": "reschedule", "instance": f"factory-{orders}x{machines}", "seed": seed, "resource": busiest.id,
              "at": at, "seconds": round(time.perf_counter() - t0, 2), "moved": out["changes"]["moved"],
              "operations": out["changes"]["operations"], "feasible": out["check"]["feasible"], "status": out["status"],
              "weighted_tardiness_before": terms(base.problem, base.schedule)["weighted_tardiness"],
              "weighted_tardiness": out["objective"].get("weighted_tardiness"),
              # the previous plan repaired in its own order (chosen when the objective weights stability enough)
              "repair_weighted_tardiness": repair.get("weighted_tardiness"), "repair_moved": repair.get("changes")})


def run_downtime(*, time_limit: float, seeds: list[int], workers: int, emit: Callable[[dict[str, Any]], None],
                 sizes: tuple[tuple[int, int], ...] = ((30, 8), (300, 25)), non_pausable: float = 0.5) -> None:
    """The factory problem with maintenance, breakdowns and non-pausable operations: EDD, the best
    dispatching rule, the schedule CP-SAT started from and the answer, so the share of the gain over
    EDD that CP-SAT brings is visible (``cpsat_share``)."""
    for orders, machines in sizes:
        for seed in seeds:
            raw = generate.factory(orders=orders, machines=machines, seed=seed, downtime=True,
                                   non_pausable=non_pausable)
            prob = solver.load(raw)
            edd_wt = terms(prob, dispatch.dispatch(prob, "edd"))["weighted_tardiness"]
            res = solver.solve(raw, time_limit=time_limit, workers=workers, seed=seed)
            wt = terms(res.problem, res.schedule)["weighted_tardiness"]
            disp_wt = res.stats["dispatch_objective"]["weighted_tardiness"]
            before = (res.stats.get("before_cpsat_objective") or {}).get("weighted_tardiness", disp_wt)
            lns_stats = res.stats.get("lns") or {}
            emit({"suite": "downtime", "instance": f"factory-{orders}x{machines}-downtime", "seed": seed,
                  "time_limit": time_limit, "workers": workers, "operations": len(prob.ops),
                  "non_pausable": sum(1 for op in prob.ops if not op.pausable),
                  "edd_weighted_tardiness": edd_wt, "dispatch_rule": res.stats["dispatch_rule"],
                  "dispatch_weighted_tardiness": disp_wt, "before_cpsat_weighted_tardiness": before,
                  "weighted_tardiness": wt, "ratio_vs_edd": round(wt / edd_wt, 4) if edd_wt else None,
                  "cpsat_share": round((before - wt) / (edd_wt - wt), 3) if edd_wt > wt else None,
                  "method": res.schedule.method, "status": res.schedule.status,
                  "cpsat_windows": lns_stats.get("steps"), "cpsat_windows_kept": lns_stats.get("improved"),
                  "solver_check_failed": len(res.stats.get("solver_check_failed") or []),
                  "feasible": not res.violations, "seconds": res.stats["seconds"]})


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_suite: dict[str, dict[str, list[dict[str, Any]]]] = {}
    last = {(r["suite"], r["instance"], r["seed"], r.get("time_limit")): r for r in rows}   # a re-run replaces a row
    for r in last.values():
        by_suite.setdefault(r["suite"], {}).setdefault(r["instance"], []).append(r)
    for suite, insts in by_suite.items():
        if suite in SUITES:
            medians = {k: statistics.median(x["gap"] for x in v) for k, v in insts.items()}
            worst = {k: max(x["gap"] for x in v) for k, v in insts.items()}
            out[suite] = {"instances": len(insts), "runs": sum(len(v) for v in insts.values()),
                          "mean_gap_of_medians": round(statistics.mean(medians.values()), 5),
                          "mean_gap_of_worst": round(statistics.mean(worst.values()), 5),
                          "worst_gap": round(max(worst.values()), 5),
                          "all_feasible": all(x["feasible"] for v in insts.values() for x in v)}
        elif suite == "factory":
            rs = [x for v in insts.values() for x in v]
            out[suite] = {"runs": len(rs), "median_ratio_vs_edd": statistics.median(x["ratio_vs_edd"] for x in rs),
                          "worst_ratio_vs_edd": max(x["ratio_vs_edd"] for x in rs),
                          "worst_first_feasible_s": max(x["first_feasible_s"] for x in rs),
                          "all_feasible": all(x["feasible"] for x in rs)}
        elif suite == "downtime":
            out[suite] = {k: {"runs": len(v), "methods": sorted({x["method"] for x in v}),
                              "median_ratio_vs_edd": statistics.median(x["ratio_vs_edd"] or 0 for x in v),
                              "solver_check_failed": sum(x["solver_check_failed"] for x in v),
                              "all_feasible": all(x["feasible"] for x in v)} for k, v in insts.items()}
        elif suite == "reschedule":
            rs = [x for v in insts.values() for x in v]
            out[suite] = {"runs": len(rs), "median_seconds": statistics.median(x["seconds"] for x in rs),
                          "worst_seconds": max(x["seconds"] for x in rs),
                          "median_moved": statistics.median(x["moved"] for x in rs),
                          "all_feasible": all(x["feasible"] for x in rs)}
    return out


def run(suites: list[str], *, time_limit: float, seeds: list[int], workers: int, out: Path | None,
        instances: list[str] | None = None, echo: Callable[[str], None] = print) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        echo(json.dumps(row, ensure_ascii=False))
        if out is not None:
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    for suite in suites:
        if suite in SUITES:
            names = [n for n in SUITES[suite] if not instances or n in instances]
            run_classic(names, time_limit=time_limit, seeds=seeds, workers=workers, emit=emit)
        elif suite == "factory":
            run_factory(time_limit=time_limit, seeds=seeds, workers=workers, emit=emit)
        elif suite == "downtime":
            run_downtime(time_limit=time_limit, seeds=seeds, workers=workers, emit=emit)
        elif suite == "reschedule":
            run_reschedule(time_limit=time_limit, seeds=seeds, workers=workers, emit=emit)
    return summarise(rows)
