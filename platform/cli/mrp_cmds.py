"""`mom mrp …`: run MRP (full or net change), show a run's suggestions, follow a suggestion to its
demands, confirm or ignore suggestions. ``--as`` names the user who acts (a planner; without it the system)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, command_ctx, echo_json, form_registry, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl

_EXC = {"late": "过期", "expedite": "提前", "reschedule_out": "推迟", "cancel": "取消"}
_KIND = {"make": "自制", "buy": "外购"}


def _q(v: Any) -> str:
    text = format(Decimal(str(v)), "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


@click.group(cls=HelpGroup, help="物料需求计划：运算、查看建议、追溯需求、确认 / MRP: run, suggestions, pegging, confirm")
def mrp() -> None:
    pass


@mrp.command("run", help="运行 MRP（默认按周、26 个时段、全部重排）/ run MRP (weekly, 26 buckets, full regeneration by default)")
@click.option("--bucket", type=click.Choice(["day", "week"]), default="week", show_default=True, help="时段 / bucket")
@click.option("--horizon", type=click.IntRange(1, 400), default=26, show_default=True, help="计划时段数 / buckets planned")
@click.option("--net-change", is_flag=True, help="净改变：只重算上次运算后有变化的物料及其下层 / net change: only what changed since the last run")
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def run_cmd(bucket: str, horizon: int, net_change: bool, username: str | None, as_json: bool) -> None:
    from mom.engines.mrp.runs import FULL, NET_CHANGE, run
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    with write_tx(engine) as conn:
        out = run(conn, forms, ctx, bucket=bucket, horizon=horizon, mode=NET_CHANGE if net_change else FULL)
    if as_json:
        echo_json(out)
        return
    click.echo(f"MRP 运算 / run {out['code']}（{'净改变' if out['mode'] == NET_CHANGE else '全部重排'} / {out['mode']}）："
               f"物料 / items {out['item_count']}，需求行 / demand lines {out['demand_count']}，"
               f"建议 / suggestions {out['suggestion_count']}，例外 / exceptions {out['exception_count']}，"
               f"耗时 / took {out['duration_ms']} ms")
    if out.get("note"):
        click.echo(out["note"])


@mrp.command("show", help="查看一次运算的建议 / a run's suggestions")
@click.argument("run_code")
@click.option("--exception", type=click.Choice(list(_EXC)), default=None, help="只看该例外 / only this exception")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def show(run_code: str, exception: str | None, limit: int, username: str | None, as_json: bool) -> None:
    from mom.engines.mrp.listing import run_with_suggestions
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = run_with_suggestions(conn, forms, ctx, run_code, limit=limit, exception=exception)
    if as_json:
        echo_json(out)
        return
    click.echo(f"{out['run']['code']}：共 {out['total']} 条建议 / {out['total']} suggestions")
    for s in out["suggestions"]:
        exc = f"  [{_EXC.get(s['exception'], s['exception'])}]" if s["exception"] else ""
        click.echo(f"  {s['code']}  {_KIND.get(s['kind'], s['kind'])}  {s['item_code']} {s['item_name']} × {_q(s['qty'])}  "
                   f"下达 / release {s['release_date'] or '-'}  需求 / due {s['due_date']}{exc}  {s['status']}")


@mrp.command("demands", help="一条建议最终服务于哪些需求（逐层追溯）/ the demands a suggestion serves, through the levels")
@click.argument("suggestion_code")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def demands(suggestion_code: str, username: str | None, as_json: bool) -> None:
    from mom.engines.mrp.listing import top_demands
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = top_demands(conn, forms, ctx, suggestion_code)
    if as_json:
        echo_json(out)
        return
    for d in out["demands"]:
        click.echo(f"  {d['demand_kind']}  {d['demand'] or '-'}  × {_q(d['qty'])}")


def _decide(action: str, codes: tuple[str, ...], username: str | None) -> dict[str, Any]:
    from mom.engines.mrp import confirmation
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    wanted = [int(c) if c.isdigit() and len(c) <= 15 else c for c in codes]
    with write_tx(engine) as conn:
        return getattr(confirmation, action)(conn, forms, ctx, wanted)


@mrp.command("confirm", help="确认建议：自制→生产工单，外购→采购订单 / confirm suggestions into orders")
@click.argument("codes", nargs=-1, required=True)
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def confirm(codes: tuple[str, ...], username: str | None, as_json: bool) -> None:
    out = _decide("confirm", codes, username)
    if as_json:
        echo_json(out)
        return
    for c in out["confirmed"]:
        click.echo(f"已确认 / confirmed: {c['code']}  {c['item']} × {_q(c['qty'])} → {c['order'] or '（已知悉 / acknowledged）'}")
    for s in out["skipped"]:
        click.echo(f"跳过 / skipped: {s['reason']['zh-CN']} / {s['reason']['en']}")


@mrp.command("ignore", help="忽略建议 / ignore suggestions")
@click.argument("codes", nargs=-1, required=True)
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@reports_errors
def ignore(codes: tuple[str, ...], username: str | None) -> None:
    out = _decide("ignore", codes, username)
    for c in out["ignored"]:
        click.echo(f"已忽略 / ignored: {c['code']}")
    for s in out["skipped"]:
        click.echo(f"跳过 / skipped: {s['reason']['zh-CN']} / {s['reason']['en']}")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom mrp …`."""
    return [mrp]
