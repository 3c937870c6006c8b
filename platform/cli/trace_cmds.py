"""`mom trace …`: forward and backward traces of a lot or serial (an indented tree in Chinese) and the
recall simulation by heat number. ``--as`` names the user whose rights the answer follows (without it
the system, which reads everything)."""
from __future__ import annotations

from typing import Any

import click

from mom.platform.cli.common import HelpGroup, command_ctx, echo_json, form_registry, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl


def _q(v: Any) -> str:
    text = f"{float(v):.4f}".rstrip("0").rstrip(".") if v is not None else ""
    return text or "0"


def _lot_text(lot: dict[str, Any]) -> str:
    bits = [f"{lot['number']}", f"{lot.get('item_name') or lot.get('item_code') or ''}"]
    for key, zh in (("heat_number", "炉号"), ("supplier_lot", "供应商批号"), ("supplier", "供应商")):
        if lot.get(key):
            bits.append(f"{zh} {lot[key]}")
    return "  ".join(b for b in bits if b)


def _tree(out: dict[str, Any]) -> None:
    forward = out["direction"] == "forward"
    lots = {x["id"]: x for x in out["lots"]}
    below: dict[int, list[dict[str, Any]]] = {}
    for e in out["links"]:
        below.setdefault(e["parent_lot"] if forward else e["child_lot"], []).append(e)
    roots = out.get("roots") or [out["root"]]
    if len(roots) > 1 and out.get("heat_number"):
        click.echo(f"按炉号 {out['heat_number']} 追溯：{len(roots)} 个批次 / by heat number: {len(roots)} lots")
    shown: set[int] = set()
    for root in roots:
        if root in shown:
            continue
        click.echo(_lot_text(lots[root]))
        shown.add(root)
        _branch(below, lots, root, forward, shown)


def _branch(below: dict[int, list[dict[str, Any]]], lots: dict[int, dict[str, Any]], root: int, forward: bool,
            shown: set[int]) -> None:
    stack: list[tuple[dict[str, Any], int]] = [(e, 1) for e in reversed(below.get(root, []))]
    while stack:
        e, level = stack.pop()
        far = e["child_lot"] if forward else e["parent_lot"]
        how = [e["relation_label"], _q(e["qty"])]
        how += [x for x in (e.get("production_order_code"), e.get("task_name"), e.get("machine_name"), e.get("operator_name")) if x]
        again = far in shown
        click.echo(f"{'  ' * level}{_lot_text(lots[far])}  ［{' · '.join(how)}］{'（见上）' if again else ''}")
        if not again:
            shown.add(far)
            stack += [(x, level + 1) for x in reversed(below.get(far, []))]


def _shipments(rows: list[dict[str, Any]], hidden: int) -> None:
    if rows:
        click.echo("客户出库 / shipments:")
    for s in rows:
        click.echo(f"  {s['document_code']}  {s['shipped_at'] or ''}  {s['lot_number']}  {_q(s['qty'])}  "
                   f"客户 {s['customer'] or '—'}  销售订单 {s['sales_order_code'] or '—'}")
    if hidden:
        click.echo(f"另有 {hidden} 张出库单你无权查看 / {hidden} more shipments you may not read")


@click.group(cls=HelpGroup, help="追溯：正向、反向、召回模拟 / traceability: forward, backward, recall simulation")
def trace() -> None:
    pass


def _run(way: str, lot: str, item: str | None, depth: int, username: str | None, as_json: bool) -> None:
    from mom.engines.trace import service
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = getattr(service, way)(conn, forms, ctx.actor, lot, item, depth)
    if as_json:
        echo_json(out)
        return
    _tree(out)
    if way == "forward":
        _shipments(out["shipments"], out["hidden"]["shipments"])
        return
    for o in out["orders"]:
        click.echo(f"生产工单 / order {o['code']}（{o['item_name'] or ''}）:")
        for r in o["reports"]:
            click.echo(f"  报工 {r['code']}  {r['operation'] or ''}  操作工 {r['operator_name'] or '—'}  设备 {r['machine_name'] or '—'}"
                       f"  合格 {_q(r['good_qty'])}  {r['reported_at'] or ''}")
    if out["records"]:
        click.echo("相关记录 / records:")
    numbers = {x["id"]: x["number"] for x in out["lots"]}
    for r in out["records"]:
        click.echo(f"  {r['form_label']}  {r['display']}  （{r['field_label']} {numbers.get(r['lot'], '')}）")
    hidden = sum(out["hidden"].values())
    if hidden:
        click.echo(f"另有 {hidden} 条记录你无权查看 / {hidden} more records you may not read")


def _trace_options(f: Any) -> Any:
    """The arguments forward and backward share: the lot, --item, --depth, --as, --json."""
    for deco in reversed((click.argument("lot", metavar="LOT_OR_SERIAL"),
                          click.option("--item", default=None, help="物料编码（同一批号属于多个物料时）/ item code, when several items use the number"),
                          click.option("--depth", type=click.IntRange(1, 20), default=10, show_default=True, help="最多层数 / at most this many links"),
                          click.option("--as", "username", default=None, help="按该用户的权限 / with this user's rights"),
                          click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON"),
                          reports_errors)):
        f = deco(f)
    return f


@trace.command("forward", help="正向追溯：这批料去了哪里，直到客户出库 / where this lot went, down to customers")
@_trace_options
def forward_cmd(lot: str, item: str | None, depth: int, username: str | None, as_json: bool) -> None:
    _run("forward", lot, item, depth, username, as_json)


@trace.command("backward", help="反向追溯：用了哪些料、谁在哪台设备上做的、检验记录 / what went into it")
@_trace_options
def backward_cmd(lot: str, item: str | None, depth: int, username: str | None, as_json: bool) -> None:
    _run("backward", lot, item, depth, username, as_json)


@trace.command("recall", help="召回模拟：含某炉号材料的全部客户出库 / all shipments holding heat number X")
@click.option("--heat-number", required=True, help="炉号 / heat number")
@click.option("--depth", type=click.IntRange(1, 20), default=10, show_default=True)
@click.option("--as", "username", default=None, help="按该用户的权限 / with this user's rights")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def recall_cmd(heat_number: str, depth: int, username: str | None, as_json: bool) -> None:
    from mom.engines.trace import service
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = service.recall(conn, forms, ctx.actor, heat_number, depth)
    if as_json:
        echo_json(out)
        return
    click.echo(f"炉号 {out['heat_number']}：{len(out['lots'])} 个批次（{'、'.join(x['number'] for x in out['lots'])}），"
               f"向下追溯到 {out['reached']} 个批次 / lots reached")
    _shipments(out["shipments"], out["hidden"]["shipments"])
    for c in out["customers"]:
        click.echo(f"客户 {c['customer'] or '（未知）'}：{c['shipments']} 张出库单，数量 {_q(c['qty'])}")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom trace …`."""
    return [trace]
