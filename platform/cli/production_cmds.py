"""`mom production …`: orders from a sales order, release an order, report work (报工), an order's progress, the dispatch list.

Orders and tasks are named by their codes (MO-…, OP-…, the codes on the printed traveler); ``--as``
names the user who acts (their record permissions apply; without it the system acts)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, command_ctx, echo_json, form_registry, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl


def _setup(username: str | None) -> tuple[Any, Any, Any]:
    engine = open_engine()
    return engine, form_registry(), command_ctx(engine, username)


def _order_id(conn: Any, forms: Any, code: str) -> int:
    from mom.engines.production.documents import ORDER, require_core, resolve

    require_core(conn, forms)
    return int(resolve(conn, forms.get(conn, ORDER), code, "/order")["id"])


def _q(v: Any) -> str:
    if v is None:
        return "-"
    d = Decimal(str(v))
    text = format(d, "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


@click.group(cls=HelpGroup, help="生产执行：由销售订单建工单、下达、报工、进度、派工、插单模拟、排程调整建议 / production: orders from demand, release, job reports, progress, dispatch, what-if, proposals")
def production() -> None:
    pass


@production.command("release", help="下达生产工单（按工艺路线生成工序任务，按 BOM 展开用料）/ release a production order")
@click.argument("order_code")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def release(order_code: str, username: str | None, as_json: bool) -> None:
    from mom.engines.production.release import release as do_release
    from mom.platform.db.engine import write_tx

    engine, forms, ctx = _setup(username)
    with write_tx(engine) as conn:
        out = do_release(conn, forms, ctx, _order_id(conn, forms, order_code))
    if as_json:
        echo_json(out)
        return
    click.echo(f"已下达 / released: {out['code']}（工艺路线 / routing {out['routing']}，BOM {out['bom']}）")
    for t in out["tasks"]:
        click.echo(f"  {t['code']}  {t['seq']} {t['name']}  {t['status']}")
    for c in out["components"]:
        click.echo(f"  用料 / component: {c['item_name']} × {_q(c['qty_required'])}")


@production.command("from-demand", help="由销售订单建生产工单：每个未覆盖的明细行一张 / production orders from a sales order's lines not yet covered")
@click.argument("sales_order_code")
@click.option("--line", "lines", type=int, multiple=True, help="只建这些行（行号从 1 起，可重复）/ only these lines (numbered from 1; repeat)")
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def from_demand(sales_order_code: str, lines: tuple[int, ...], username: str | None, as_json: bool) -> None:
    from mom.engines.production.demand import from_demand as make_orders
    from mom.platform.db.engine import write_tx

    engine, forms, ctx = _setup(username)
    with write_tx(engine) as conn:
        out = make_orders(conn, forms, ctx, sales_order_code, lines=list(lines) if lines else None)
    if as_json:
        echo_json(out)
        return
    for c in out["created"]:
        click.echo(f"已建 / created: {c['code']}  第 {c['line']} 行 / line {c['line']}  {c['item_name']} × {_q(c['qty'])}"
                   f"{c.get('unit') or ''}  交期 / due {c.get('due_date') or '-'}")
    for s in out["skipped"]:
        click.echo(f"跳过 / skipped: {s['reason']['zh-CN']} / {s['reason']['en']}")
    if not out["created"]:
        click.echo(f"没有新建生产工单 / no production order created for {out['sales_order']}")


@production.command("report", help="报工：开工/暂停/继续/报数/完工 / report work on an operation task")
@click.argument("task_code")
@click.option("--event", type=click.Choice(["start", "pause", "resume", "report", "finish"]), default="report",
              show_default=True, help="事件 / event")
@click.option("--good", default=None, help="合格数 / good quantity")
@click.option("--scrap", default=None, help="报废数 / scrap quantity")
@click.option("--rework", default=None, help="返工数 / rework quantity")
@click.option("--reason", default=None, help="报废原因编码 / scrap reason code (R01 …)")
@click.option("--machine", default=None, help="设备编码 / machine code")
@click.option("--client-id", default=None, help="防重号：同一号只记一次 / idempotency key: counted once")
@click.option("--note", default=None, help="备注 / note")
@click.option("--as", "username", default=None, help="报工人 / the operator reporting")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def report(task_code: str, event: str, good: str | None, scrap: str | None, rework: str | None, reason: str | None,
           machine: str | None, client_id: str | None, note: str | None, username: str | None, as_json: bool) -> None:
    from mom.engines.production.reports import report as do_report
    from mom.platform.db.engine import write_tx

    engine, forms, ctx = _setup(username)
    doc: dict[str, Any] = {"task": task_code, "event": event}
    for key, value in (("good_qty", good), ("scrap_qty", scrap), ("rework_qty", rework), ("scrap_reason", reason),
                       ("machine", machine), ("client_id", client_id), ("note", note)):
        if value is not None:
            doc[key] = value
    with write_tx(engine) as conn:
        out = do_report(conn, forms, ctx, doc)
    if as_json:
        echo_json(out)
        return
    r, t, o = out["report"], out["task"], out["order"]
    head = "已记过，未重复计数 / already recorded, not counted again" if out["duplicate"] else "已报工 / reported"
    click.echo(f"{head}: {r.get('code')}")
    click.echo(f"  工序 / operation {t['seq']} {t['name']}: {t['status']}  合格 / good {_q(t['good_qty'])}  "
               f"报废 / scrap {_q(t['scrap_qty'])}  返工 / rework {_q(t['rework_qty'])}")
    click.echo(f"  工单 / order {o['code']}: {o['status']}  进度 / progress {_q(o['progress'])}%  "
               f"当前工序 / current {o.get('current_operation') or '-'}")


@production.command("correct", help="更正报工：按数量的变化（-5 表示少算 5 个）新增一条更正，原报工保留 / "
                                     "correct a job report: a new correction with the change of each quantity")
@click.argument("report_code")
@click.option("--good", default=None, help="合格数的变化，如 -5 / change of the good quantity, e.g. -5")
@click.option("--scrap", default=None, help="报废数的变化 / change of the scrap quantity")
@click.option("--rework", default=None, help="返工数的变化 / change of the rework quantity")
@click.option("--reason", required=True, help="更正原因 / why the report is corrected")
@click.option("--scrap-reason", default=None, help="增加报废时的报废原因编码 / scrap reason code when scrap is added")
@click.option("--client-id", default=None, help="防重号：同一号只记一次 / idempotency key: counted once")
@click.option("--note", default=None, help="备注 / note")
@click.option("--as", "username", default=None, help="以该用户身份（计划员或车间主任）/ act as this user (a planner or supervisor)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def correct(report_code: str, good: str | None, scrap: str | None, rework: str | None, reason: str,
            scrap_reason: str | None, client_id: str | None, note: str | None, username: str | None, as_json: bool) -> None:
    from mom.engines.production.corrections import EVENT, correct as do_correct
    from mom.platform.db.engine import write_tx

    engine, forms, ctx = _setup(username)
    doc: dict[str, Any] = {"event": EVENT, "corrects": report_code, "reason": reason}
    for key, value in (("good_qty", good), ("scrap_qty", scrap), ("rework_qty", rework), ("scrap_reason", scrap_reason),
                       ("client_id", client_id), ("note", note)):
        if value is not None:
            doc[key] = value
    with write_tx(engine) as conn:
        out = do_correct(conn, forms, ctx, doc)
    if as_json:
        echo_json(out)
        return
    c, t, o = out["corrected"], out["task"], out["order"]
    head = "已记过，未重复计数 / already recorded, not counted again" if out["duplicate"] else "已更正 / corrected"
    click.echo(f"{head}: {out['report'].get('code')} -> {c['report']}")
    for key, zh in (("good_qty", "合格 / good"), ("scrap_qty", "报废 / scrap"), ("rework_qty", "返工 / rework")):
        if c["before"][key] != c["after"][key]:
            click.echo(f"  {zh}: {_q(c['before'][key])} -> {_q(c['after'][key])}")
    click.echo(f"  工序 / operation {t['seq']} {t['name']}: 合格 / good {_q(t['good_qty'])}  报废 / scrap {_q(t['scrap_qty'])}")
    click.echo(f"  工单 / order {o['code']}: {o['status']}  进度 / progress {_q(o['progress'])}%")


@production.command("progress", help="工单进度：各工序数量与在制 / an order's progress and WIP per operation")
@click.argument("order_code")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def progress(order_code: str, username: str | None, as_json: bool) -> None:
    from mom.engines.production.progress import progress as order_progress
    from mom.platform.db.engine import read_tx

    engine, forms, ctx = _setup(username)
    with read_tx(engine) as conn:
        out = order_progress(conn, forms, ctx, _order_id(conn, forms, order_code))
    if as_json:
        echo_json(out)
        return
    o = out["order"]
    click.echo(f"{o.get('code')}  {o.get('status')}  数量 / qty {_q(o.get('qty'))}  合格 / good {_q(out['good_qty'])}  "
               f"报废 / scrap {_q(out['scrap_qty'])}  进度 / progress {_q(out['progress'])}%  "
               f"预计完工 / expected {out.get('expected_finish') or '-'}  {out.get('on_time') or ''}")
    for t in out["tasks"]:
        click.echo(f"  {t['code']}  {t['seq']} {t['name']}  {t['status']}  合格 / good {_q(t['good_qty'])}  "
                   f"报废 / scrap {_q(t['scrap_qty'])}  在制 / WIP {_q(t['wip'])}")


@production.command("dispatch", help="派工单：按计划开始时间排列的待做工序 / the dispatch list of open operation tasks")
@click.option("--work-center", default=None, help="工作中心编码 / work centre code")
@click.option("--machine", default=None, help="设备编码 / machine code")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def dispatch(work_center: str | None, machine: str | None, username: str | None, as_json: bool) -> None:
    from mom.engines.production.progress import dispatch as dispatch_list
    from mom.platform.db.engine import read_tx

    engine, forms, ctx = _setup(username)
    with read_tx(engine) as conn:
        out = dispatch_list(conn, forms, ctx, work_center=work_center, machine=machine)
    if as_json:
        echo_json({"tasks": out})
        return
    if not out:
        click.echo("没有待做的工序 / no open operation tasks")
    for t in out:
        click.echo(f"{t['code']}  {t['order_code']}  {t['seq']} {t['name']}  {t['status']}  {t.get('machine_name') or '-'}  "
                   f"可做 / available {_q(t['available'])}  计划开始 / planned {t.get('planned_start') or '-'}")


@production.command("whatif", help="插单模拟：计划中的工单插进来能否按期、哪些工单会推迟（不写入）/ rush-order what-if (writes nothing)")
@click.argument("order_code")
@click.option("--time-limit", type=click.FloatRange(min=0.1, max=600), default=5.0, show_default=True,
              help="最多计算秒数 / seconds to think at most")
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def whatif(order_code: str, time_limit: float, username: str | None, as_json: bool) -> None:
    from mom.engines.production.whatif import whatif as run_whatif
    from mom.platform.replanning import replan

    engine, forms, ctx = _setup(username)
    out = run_whatif(engine, forms, ctx, order_code, replan=replan, time_limit=time_limit)
    if as_json:
        echo_json({k: v for k, v in out.items() if k != "solution"})
        return
    click.echo(out["message"]["zh-CN"])
    click.echo(out["message"]["en"])
    for r in out["later"]:
        click.echo(f"  {r['order']}  +{r['delay_minutes']} min  {r['planned_end_before']} -> {r['planned_end_after']}"
                   + ("  将延期 / now late" if r["newly_late"] else ""))


@production.command("proposals", help="排程调整建议：列出、接受或拒绝 / schedule proposals: list, accept or reject")
@click.option("--accept", "accept_id", default=None, help="接受该建议（编号或 id）/ accept this proposal (code or id)")
@click.option("--reject", "reject_id", default=None, help="拒绝该建议（编号或 id）/ reject this proposal (code or id)")
@click.option("--status", type=click.Choice(["pending", "accepted", "rejected", "stale"]), default=None,
              help="只列该状态 / only this status")
@click.option("--as", "username", default=None, help="以该用户身份（计划员）/ act as this user (a planner)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def proposals_cmd(accept_id: str | None, reject_id: str | None, status: str | None, username: str | None,
                  as_json: bool) -> None:
    from mom.engines.production import proposals
    from mom.platform.db.engine import read_tx, write_tx

    if accept_id and reject_id:
        raise click.UsageError("--accept 与 --reject 只能选一个 / give --accept or --reject, not both")
    engine, forms, ctx = _setup(username)
    if accept_id or reject_id:
        with write_tx(engine) as conn:
            out = (proposals.accept if accept_id else proposals.reject)(conn, forms, ctx, accept_id or reject_id)
        if out["status"] == "stale":
            raise proposals.stale_error(out)
        if as_json:
            echo_json(out)
        elif out["status"] == "accepted":
            click.echo(f"已接受 / accepted: {out['code']}（{out['tasks']} 道工序已改计划 / tasks re-planned）")
        else:
            click.echo(f"已拒绝 / rejected: {out['code']}")
        return
    with read_tx(engine) as conn:
        rows = proposals.listing(conn, forms, ctx, status=status)
    if as_json:
        echo_json({"proposals": rows})
        return
    if not rows:
        click.echo("没有排程调整建议 / no schedule proposals")
    for p in rows:
        click.echo(f"{p['code']}  {p['status']}  {p.get('machine') or '-'}  {p.get('created_at') or ''}")
        for line in (p.get("summary") or "").splitlines():
            click.echo(f"  {line}")
        for c in p["changes"]:
            click.echo(f"    {c['task']}  {c.get('old_machine') or '-'} -> {c.get('new_machine') or '-'}  "
                       f"{c.get('old_start') or '-'} -> {c.get('new_start')}  推迟 / delay {c.get('delay_min')} min")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom production …`."""
    return [production]
