"""`mom quality plan`: the GB/T 2828.1 (ISO 2859-1) single-sampling plan for a lot, in Chinese
(English after each line). Reads nothing from the database (docs/quality.md). `mom quality patrol`: the
time-based patrol inspections due now (巡检按时间; the quality pack's schedule rule does the same in the worker)."""
from __future__ import annotations

import click

from mom.platform.cli.common import HelpGroup, echo_json, reports_errors
from mom.platform.hookspecs import hookimpl

_SEVERITY = ("normal", "tightened", "reduced")


@click.group(cls=HelpGroup, help="质量：抽样方案、按时间巡检 / quality: sampling plans, time-based patrols")
def quality() -> None:
    pass


@quality.command("plan", help="按 GB/T 2828.1 查抽样方案（字码、样本量、Ac/Re）/ GB/T 2828.1 sampling plan for a lot")
@click.option("--lot-size", type=int, required=True, help="批量（件）/ lot size")
@click.option("--aql", required=True, help="接收质量限，如 1.0 / AQL, e.g. 1.0")
@click.option("--level", default="II", show_default=True, help="检验水平 S-1…S-4、I、II、III / inspection level")
@click.option("--severity", type=click.Choice(_SEVERITY), default="normal", show_default=True,
              help="正常 normal / 加严 tightened / 放宽 reduced")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def plan_cmd(lot_size: int, aql: str, level: str, severity: str, as_json: bool) -> None:
    from mom.engines.quality.sampling import plan

    p = plan(lot_size, aql, level, severity)
    if as_json:
        echo_json(p.to_dict())
        return
    click.echo(f"样本量字码 / code letter：{p.initial_letter}"
               + (f"（按箭头 {p.resolved_from} 用字码 {p.code_letter} / arrows → {p.code_letter}）" if p.resolved_from else ""))
    click.echo(f"样本量 / sample size：{p.sample_size}" + ("（100% 全检 / inspect every unit）" if p.hundred_percent else ""))
    click.echo(f"接收数 Ac：{p.ac}　拒收数 Re：{p.re}")
    click.echo(p.note_zh)
    click.echo(p.note_en)


@quality.command("patrol", help="按时间巡检：为运行中且到了巡检间隔（检验方案「每隔分钟」）的工序开巡检单 / open the "
                                "time-based patrol inspections due now")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def patrol_cmd(as_json: bool) -> None:
    from mom.engines.quality.ipqc import patrol_tick
    from mom.platform.cli.common import command_ctx, form_registry, open_engine
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    forms = form_registry()
    with write_tx(engine) as conn:
        opened = patrol_tick(conn, forms, command_ctx(engine, None))
        rows = [{"code": lt.get("code"), "operation_task": lt.get("operation_task"), "note": lt.get("note")} for lt in opened]
    if as_json:
        echo_json({"opened": rows})
        return
    for r in rows:
        click.echo(f"已开巡检单 / patrol lot opened: {r['code']}  {r['note'] or ''}")
    click.echo(f"共 {len(rows)} 张巡检单 / {len(rows)} patrol lot(s) opened")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    return [quality]
