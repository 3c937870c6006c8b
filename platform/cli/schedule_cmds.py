"""`mom schedule …`: solve, check, reschedule, whatif, bench; plan (the plant's released orders, from the database).

Problem and solution files are ``mom.schedule-problem/1`` and ``mom.schedule-solution/1`` JSON
(docs/scheduling.md). Bad input prints each problem with its JSON path and exits 1; a schedule
that fails the checker exits 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, read_json, reports_errors
from mom.platform.errors import InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

EXIT_INFEASIBLE = 2


def _file(path: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"文件不存在：{p}", f"no such file: {p}")
    return read_json(p)


def _write(doc: dict[str, Any], out: str | None) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if out:
        tmp = Path(out).with_suffix(Path(out).suffix + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out)          # never a half-written solution file
    else:
        click.echo(text)


def _summary(doc: dict[str, Any]) -> None:
    k = doc["kpis"]
    click.echo(f"状态 / status: {doc['status']} ({doc['method']}); 可行 / feasible: {doc['check']['feasible']}", err=True)
    click.echo(f"延误订单 / late orders: {k['late_orders']}; 加权延误 / weighted tardiness: {k['weighted_tardiness']}; "
               f"完工 / makespan: {k['makespan']}; 换型 / setup: {k['setup_time']} min", err=True)
    for e in doc.get("explanations", [])[:10]:
        click.echo(f"  - {e['message']['zh-CN']} / {e['message']['en']}", err=True)
    if "changes" in doc:
        c = doc["changes"]
        click.echo(f"变动工序 / moved operations: {c['moved']} / {c['operations']}", err=True)


def _previous(prob: Any, path: str | None) -> Any:
    if not path:
        return None
    from mom.engines.scheduling import solution
    return solution.from_json(prob, _file(path))


@click.group(cls=HelpGroup, help="生产排程（OR-Tools CP-SAT）/ production scheduling")
def schedule() -> None:
    pass


@schedule.command("solve", help="求解排程问题 / solve a scheduling problem")
@click.argument("problem")
@click.option("--time-limit", type=float, default=30.0, show_default=True, help="秒 / seconds")
@click.option("--out", help="结果文件 / solution file (default: stdout)")
@click.option("--previous", help="上一版排程（热启动与稳定性）/ previous solution: warm start and stability")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0)
@click.option("--log", is_flag=True, help="显示求解器日志 / show the solver log")
@reports_errors
def solve_cmd(problem: str, time_limit: float, out: str | None, previous: str | None, workers: int, seed: int,
              log: bool) -> None:
    from mom.engines.scheduling import problem as P, solution, solver

    if time_limit <= 0:
        raise InvalidInput("--time-limit 须大于 0", "--time-limit must be above 0",
                           problems=[Problem("/time_limit", "须大于 0", "must be above 0", "range")])
    prob = P.load(_file(problem))
    res = solver.solve(prob, time_limit=time_limit, workers=workers, seed=seed, previous=_previous(prob, previous), log=log)
    doc = solution.to_json(res.problem, res.schedule, violations=res.violations,
                           changes=res.changes() if previous else None)
    _write(doc, out)
    _summary(doc)
    if res.violations:
        sys.exit(EXIT_INFEASIBLE)


@schedule.command("check", help="独立校验排程结果 / check a solution against its problem")
@click.argument("problem")
@click.argument("solution_file", metavar="SOLUTION")
@reports_errors
def check_cmd(problem: str, solution_file: str) -> None:
    from mom.engines.scheduling import checker, problem as P, solution

    prob = P.load(_file(problem))
    sched = solution.from_json(prob, _file(solution_file))
    viol = checker.check(prob, sched)
    if not viol:
        click.echo(f"ok: {len(prob.ops)} 道工序全部满足约束 / all {len(prob.ops)} operations satisfy every constraint")
        return
    click.echo(f"不可行 / infeasible: {len(viol)} 处违反 / violations", err=True)
    for v in viol[:50]:
        click.echo(f"  [{v.kind}] {v.operation}: {v.zh} / {v.en}", err=True)
    sys.exit(EXIT_INFEASIBLE)


@schedule.command("reschedule", help="设备故障后重排 / reschedule after a machine breakdown")
@click.argument("problem")
@click.option("--previous", required=True, help="当前排程 / the schedule in force")
@click.option("--resource", required=True, help="故障设备 / the broken resource")
@click.option("--at", "start", type=int, required=True, help="故障时刻（分钟）/ breakdown time (minutes)")
@click.option("--until", "end", type=int, help="预计修复时刻 / expected repair time (default: the whole horizon)")
@click.option("--policy", type=click.Choice(["split", "restart"]), default="split", show_default=True,
              help="在制工序：拆分续做或重新开始 / an operation in progress: continue the rest, or start again")
@click.option("--time-limit", type=float, default=5.0, show_default=True)
@click.option("--out")
@reports_errors
def reschedule_cmd(problem: str, previous: str, resource: str, start: int, end: int | None, policy: str,
                   time_limit: float, out: str | None) -> None:
    from mom.engines.scheduling import problem as P, reschedule

    raw = _file(problem)
    prob = P.load(raw)
    doc = reschedule.breakdown(raw, _previous(prob, previous), resource=resource, start=start, end=end, policy=policy,
                               time_limit=time_limit)
    _write(doc, out)
    _summary(doc)


@schedule.command("whatif", help="插单影响分析 / what-if for a rush order")
@click.argument("problem")
@click.option("--previous", required=True, help="当前排程 / the schedule in force")
@click.option("--rush", required=True, help="急单文件（一个或一组订单）/ JSON file with the rush order(s)")
@click.option("--at", "now", type=int, default=0, help="当前时刻：此前开始的工序不动 / now: what started before stays")
@click.option("--time-limit", type=float, default=10.0, show_default=True)
@click.option("--out")
@reports_errors
def whatif_cmd(problem: str, previous: str, rush: str, now: int, time_limit: float, out: str | None) -> None:
    from mom.engines.scheduling import problem as P, reschedule

    raw = _file(problem)
    prob = P.load(raw)
    rush_raw = _file(rush)
    orders = rush_raw if isinstance(rush_raw, list) else rush_raw.get("orders", [rush_raw])
    doc = reschedule.rush(raw, _previous(prob, previous), orders, now=now, time_limit=time_limit)
    _write(doc, out)
    _summary(doc)
    for row in doc["impact"]["later"][:20]:
        click.echo(f"  {row['order']}: +{row['delay']} min (→ {row['completion']}, due {row['due']})", err=True)


def plant_solver(workers: int = 2) -> Any:
    """``solve(problem, time_limit) -> solution document`` for mom.engines.production.planning.plan."""
    from mom.engines.scheduling import solution, solver

    def solve(problem: dict[str, Any], time_limit: float) -> dict[str, Any]:
        res = solver.solve(problem, time_limit=time_limit, workers=workers)
        return solution.to_json(res.problem, res.schedule, violations=res.violations)
    return solve


def _hours(minutes: int) -> str:
    h, m = divmod(int(minutes), 60)
    return f"{h} 小时 {m} 分 / {h} h {m} min" if h else f"{m} 分 / {m} min"


def _plan_summary(out: dict[str, Any]) -> None:
    s = out["summary"]
    click.echo(f"排程 / plan: {s['orders']} 个工单 / orders, {s['tasks']} 道工序 / tasks; 状态 / status: {s['status']}; "
               f"可行 / feasible: {s['feasible']}")
    click.echo(f"全部完工 / all finished by: {s['makespan_at']} ({s['makespan_minutes']} min)")
    click.echo(f"延误工单 / late orders: {len(s['late_orders'])}")
    for row in s["late_orders"][:20]:
        click.echo(f"  - {row['order']}: 交期 / due {row['due']}, 计划完工 / planned end {row['planned_end']}, "
                   f"延误 / late {_hours(row['late_minutes'])}")
    if s["beyond_horizon"]:
        click.echo(f"超出计划期 / beyond the horizon: {', '.join(s['beyond_horizon'][:20])}")
    for n in s["notes"][:20]:
        click.echo(f"  ! {n['zh-CN']} / {n['en']}")
    if out["written"]:
        c = out["changed"]
        click.echo(f"已写入 / written: {c['tasks']} 道工序、{c['orders']} 个工单的计划时间 / tasks and orders "
                   f"({c['tasks_unchanged']} 道工序不变 / tasks unchanged)")
    elif not s["feasible"]:
        click.echo("排程结果未通过校验，没有写入 / the schedule failed the checker: nothing written", err=True)
    else:
        click.echo("试排：没有写入 / dry run: nothing written")


@schedule.command("plan", help="按数据库中已下达的工单排程并写回计划 / schedule the released orders in the database and "
                               "write the plan back")
@click.option("--time-limit", type=float, default=10.0, show_default=True, help="秒 / seconds")
@click.option("--dry-run", is_flag=True, help="只排不写 / compute, write nothing")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出（含排程结果）/ print JSON (with the solution)")
@click.option("--horizon-days", type=click.IntRange(1, 366), default=14, show_default=True,
              help="计划期（天）/ planning horizon (days)")
@click.option("--as", "username", help="以此用户身份写入（审计记录）/ act as this user (audit trail)")
@click.option("--workers", type=int, default=2, show_default=True)
@reports_errors
def plan_cmd(time_limit: float, dry_run: bool, as_json: bool, horizon_days: int, username: str | None,
             workers: int) -> None:
    from mom.engines.production import planning
    from mom.platform.cli.common import command_ctx, echo_json, form_registry, open_engine

    if time_limit <= 0:
        raise InvalidInput("--time-limit 须大于 0", "--time-limit must be above 0")
    engine = open_engine()
    ctx = command_ctx(engine, username)
    out = planning.plan(engine, form_registry(), ctx, solve=plant_solver(workers), time_limit=time_limit,
                        apply=not dry_run, horizon_days=horizon_days)
    if as_json:
        echo_json(out)
    else:
        _plan_summary(out)
    if not out["summary"]["feasible"]:
        sys.exit(EXIT_INFEASIBLE)


@schedule.command("bench", help="基准测试 / benchmarks (docs/benchmarks.md)")
@click.option("--suite", "suites", multiple=True, type=click.Choice(["la", "ta", "mk", "factory", "downtime", "reschedule"]),
              default=("la", "ta", "mk", "factory", "reschedule"), show_default=True)
@click.option("--instance", "instances", multiple=True, help="只跑这些算例 / only these instances (e.g. la21)")
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--seeds", default="1,2,3", show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--out", help="逐条追加结果（JSON lines）/ append each result here")
@reports_errors
def bench_cmd(suites: tuple[str, ...], instances: tuple[str, ...], time_limit: float, seeds: str, workers: int,
              out: str | None) -> None:
    from mom.engines.scheduling import bench

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise InvalidInput("--seeds 应为逗号分隔的整数", "--seeds must be comma-separated integers") from None
    summary = bench.run(list(suites), time_limit=time_limit, seeds=seed_list, workers=workers,
                        out=Path(out) if out else None, instances=list(instances) or None, echo=click.echo)
    click.echo(json.dumps({"summary": summary}, ensure_ascii=False, indent=2))


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom schedule …`."""
    return [schedule]
