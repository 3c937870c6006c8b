"""`mom stock …`: stock on hand, the ledger, posting and reversing stock documents, and rebuilding balances
from the ledger (``--check``: only report the differences, exit 1 if any).

Documents are named by their form and code or id (``mom stock post stock_receipt RC-20261203-0001``);
``--as`` names the user who acts (their record permissions apply; without it the system acts)."""
from __future__ import annotations

import sys
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, command_ctx, echo_json, form_registry, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl


def _q(v: Any) -> str:
    from mom.engines.inventory.documents import qty_text

    return qty_text(v)


def _doc_id(conn: Any, forms: Any, form: str, ref: str) -> int:
    from mom.engines.inventory import documents as D
    from mom.engines.inventory.posting import kind_of
    from mom.engines.production.documents import resolve

    kind_of(form)
    return int(resolve(conn, D.get(conn, forms, form), ref, "/id")["id"])


@click.group(cls=HelpGroup, help="库存：现存量、库存流水、单据过账与冲销、按流水重算余额 / stock: on hand, ledger, post and reverse documents, rebuild balances")
def stock() -> None:
    pass


@stock.command("onhand", help="现存量（按物料 × 库位 × 批次）/ stock on hand by item × location × lot")
@click.argument("item", required=False)
@click.option("--location", default=None, help="库位编码或 id / location code or id")
@click.option("--lot", default=None, help="批号或 id / lot number or id")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def onhand(item: str | None, location: str | None, lot: str | None, username: str | None, as_json: bool) -> None:
    from mom.engines.inventory import listing
    from mom.engines.inventory.rules import LOT_STATUS_ZH
    from mom.platform.db.engine import read_tx

    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = listing.onhand(conn, forms, ctx, item=item, location=location, lot=lot)
    if as_json:
        echo_json(out)
        return
    if not out["rows"]:
        click.echo("没有库存 / no stock")
        return
    for r in out["rows"]:
        lot_text = f"  批次 / lot {r['lot_number']}（{LOT_STATUS_ZH.get(r['lot_status'], r['lot_status'])}）" if r["lot"] is not None else ""
        click.echo(f"{r['item_code']} {r['item_name']}  {r['location_name']}{lot_text}  {_q(r['qty'])}{r['unit'] or ''}")
    for i in out["items"]:
        click.echo(f"合计 / total {i['item_code']} {i['item_name']}: {_q(i['on_hand'])}{i['unit'] or ''}  "
                   f"可用 / usable {_q(i['usable'])}")


@stock.command("moves", help="库存流水（新的在前）/ the stock ledger, newest first")
@click.argument("item", required=False)
@click.option("--location", default=None, help="库位编码或 id / location code or id")
@click.option("--lot", default=None, help="批号或 id / lot number or id")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="最多行数 / rows")
@click.option("--as", "username", default=None, help="以该用户身份 / act as this user")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def moves(item: str | None, location: str | None, lot: str | None, limit: int, username: str | None, as_json: bool) -> None:
    from mom.engines.inventory import listing
    from mom.platform.db.engine import read_tx

    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        out = listing.moves(conn, forms, ctx, item=item, location=location, lot=lot, limit=limit)
    if as_json:
        echo_json(out)
        return
    for m in out["moves"]:
        lot_text = f"  批次 / lot {m['lot_number']}" if m["lot"] is not None else ""
        click.echo(f"{m['posted_at']}  {m['document_label']} {m['document_code']} 第 {m['document_line']} 行  "
                   f"{m['item_code']} {m['location_name']}{lot_text}  {'+' if m['qty'] > 0 else ''}{_q(m['qty'])}{m['unit'] or ''}")


@stock.command("post", help="过账库存单据 / post a stock document (FORM: stock_receipt, stock_issue …; ID: its code or id)")
@click.argument("form")
@click.argument("doc")
@click.option("--as", "username", default=None, help="以该用户身份（仓管员）/ act as this user (a storekeeper)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def post(form: str, doc: str, username: str | None, as_json: bool) -> None:
    from mom.engines.inventory.posting import post as do_post
    from mom.platform.db.engine import write_tx

    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with write_tx(engine) as conn:
        out = do_post(conn, forms, ctx, form, _doc_id(conn, forms, form, doc))
    _said(out, as_json, "已过账 / posted", "已过账过，未重复过账 / already posted, not posted again")


@stock.command("reverse", help="冲销已过账的库存单据 / reverse a posted stock document")
@click.argument("form")
@click.argument("doc")
@click.option("--as", "username", default=None, help="以该用户身份（仓管员）/ act as this user (a storekeeper)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def reverse(form: str, doc: str, username: str | None, as_json: bool) -> None:
    from mom.engines.inventory.posting import reverse as do_reverse
    from mom.platform.db.engine import write_tx

    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with write_tx(engine) as conn:
        out = do_reverse(conn, forms, ctx, form, _doc_id(conn, forms, form, doc))
    _said(out, as_json, "已冲销 / reversed by", "已冲销过 / already reversed by")


def _said(out: dict[str, Any], as_json: bool, done: str, again: str) -> None:
    if as_json:
        echo_json(out)
        return
    click.echo(f"{again if out['duplicate'] else done}: {out['code']}（{len(out['moves'])} 条流水 / ledger rows）")


@stock.command("rebuild", help="按库存流水重算余额；--check 只报告差异（有差异时退出码 1）/ recompute balances from the ledger; --check only reports")
@click.option("--check", "check_only", is_flag=True, help="只检查，不改 / report only (exit 1 on any difference)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def rebuild(check_only: bool, as_json: bool) -> None:
    from mom.engines.inventory import balances as B
    from mom.engines.records.context import Ctx
    from mom.platform.db.engine import read_tx, write_tx

    engine, forms = open_engine(), form_registry()
    if check_only:
        with read_tx(engine) as conn:
            B.rebuild(conn, forms, Ctx.system(), dry_run=True)     # refuses in words without the stock forms
            diffs = B.check(conn)
    else:
        with write_tx(engine) as conn:
            diffs = B.rebuild(conn, forms, Ctx.system())
    if as_json:
        echo_json({"differences": [{**d, "ledger": str(d["ledger"]), "balance": str(d["balance"])} for d in diffs],
                   "fixed": not check_only})
    else:
        for d in diffs:
            click.echo(f"差异 / difference: 物料 / item #{d['item']} 库位 / location #{d['location']} 批次 / lot "
                       f"{'#' + str(d['lot']) if d['lot'] is not None else '-'}: 流水 / ledger {_q(d['ledger'])}, "
                       f"余额 / balance {_q(d['balance'])}")
        if not diffs:
            click.echo("余额与流水一致 / balances agree with the ledger")
        elif not check_only:
            click.echo(f"已按流水重算 {len(diffs)} 个余额 / {len(diffs)} balances recomputed from the ledger")
    if check_only and diffs:
        sys.exit(1)


@stock.command("replenish", help="线边补料：检查所有补料规则，低于订货点且没有未过账补料单的生成调拨草稿 / check every "
                                  "replenishment rule: a draft transfer for each one below its reorder point")
@click.option("--dry-run", is_flag=True, help="只列出，不生成 / only list what would be asked")
@click.option("--as", "username", default=None, help="以该用户身份（仓管员）/ act as this user (a storekeeper)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def replenish(dry_run: bool, username: str | None, as_json: bool) -> None:
    from mom.platform.cli.replenish_sweep import run_sweep

    engine = open_engine()
    run_sweep(engine, form_registry(), command_ctx(engine, username), dry_run=dry_run, as_json=as_json)


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom stock …`."""
    return [stock]
