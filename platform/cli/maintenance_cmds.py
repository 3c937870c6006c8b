"""`mom maintenance pm run`: open the PM orders that are due (the equipment pack's schedule rule does the
same in the worker); `mom maintenance reliability`: MTBF / MTTR / availability per machine (ISO 22400-2).
See docs/maintenance.md."""
from __future__ import annotations

import datetime as dt

import click

from mom.platform.cli.common import HelpGroup, echo_json, reports_errors
from mom.platform.hookspecs import hookimpl


@click.group(cls=HelpGroup, help="设备维修保养：保养计划开单、MTBF/MTTR / maintenance: PM orders, MTBF/MTTR")
def maintenance() -> None:
    pass


@maintenance.group(cls=HelpGroup, help="保养计划 / preventive maintenance")
def pm() -> None:
    pass


@pm.command("run", help="为到期的保养计划开保养工单（每个计划每个到期日一张）/ open the PM orders that are due")
@click.option("--days", type=click.IntRange(0, 366), default=7, show_default=True,
              help="按日历的计划提前几天开单 / calendar plans: open this many days ahead")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def pm_run(days: int, as_json: bool) -> None:
    from mom.engines.maintenance import pm as PM
    from mom.platform.cli.common import command_ctx, form_registry, open_engine
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    forms = form_registry()
    with write_tx(engine) as conn:
        opened = PM.run(conn, forms, command_ctx(engine, None), ahead_days=days)
        rows = [{"code": o.get("code"), "machine": o.get("machine"), "due_date": str(o.get("due_date") or ""),
                 "title": o.get("title"), "note": o.get("note")} for o in opened]
    if as_json:
        echo_json({"opened": rows})
        return
    for r in rows:
        click.echo(f"已开保养工单 / PM order opened: {r['code']}  {r['title']}  {r['note'] or ''}")
    click.echo(f"共 {len(rows)} 张保养工单 / {len(rows)} PM order(s) opened")


#: the years a period may name (as the API's and the OEE periods)
YEARS = (1970, 2200)


def _day(value: str, name: str, tz: dt.tzinfo) -> dt.datetime:
    """``--from`` / ``--to``: a date is the plant's midnight starting that day, a date-time without a zone the
    plant's time (``MOM_TIMEZONE``), as in the API and ``mom oee``; one with a zone (``Z``, ``+08:00``) as written."""
    text = value.strip()
    try:
        got = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text[:40]!r} 不是日期，请写成 2026-12-01 / not a date (2026-12-01)", param_hint=name) from None
    if not YEARS[0] <= got.year <= YEARS[1]:
        raise click.BadParameter(f"{text[:40]!r} 超出范围：应在 {YEARS[0]} 到 {YEARS[1]} 年之间 / out of range: "
                                 f"give a date between {YEARS[0]} and {YEARS[1]}", param_hint=name)
    return got if got.tzinfo is not None else got.replace(tzinfo=tz)


@maintenance.command("reliability", help="每台设备的故障次数、MTBF、MTTR、可用率 / MTBF, MTTR and availability per machine")
@click.option("--from", "start", required=True, help="开始日期 / from (2026-12-01)")
@click.option("--to", "end", required=True, help="结束日期（不含）/ to, exclusive (2026-12-31)")
@click.option("--machine", "codes", multiple=True, help="设备编号，可多次；不填为全部 / machine code(s); default all")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def reliability_cmd(start: str, end: str, codes: tuple[str, ...], as_json: bool) -> None:
    import sqlalchemy as sa

    from mom.engines.forms import fieldtypes
    from mom.engines.maintenance.reliability import mtbf_mttr
    from mom.platform.cli.common import form_registry, open_engine
    from mom.platform.db.engine import read_tx
    from mom.platform.settings import get_settings

    tz = fieldtypes.plant_tz(get_settings().timezone)      # the plant's days, not UTC's
    a, b = _day(start, "--from", tz), _day(end, "--to", tz)
    if not a < b:
        raise click.BadParameter("开始日期须早于结束日期 / --from must be before --to", param_hint="--to")
    engine = open_engine()
    forms = form_registry()
    with read_tx(engine) as conn:
        t = forms.get(conn, "machine").main
        q = sa.select(t.c.id, t.c.code, t.c.name).where(t.c.deleted_at.is_(None)).order_by(t.c.code)
        if codes:
            q = q.where(t.c.code.in_(list(codes)))
        machines = [dict(r) for r in conn.execute(q).mappings()]
        got = mtbf_mttr(conn, forms, [m["id"] for m in machines], a, b)
    rows = [{"machine": m["code"], "name": m["name"], **got[int(m["id"])]} for m in machines]
    if as_json:
        echo_json({"from": a.isoformat(), "to": b.isoformat(), "machines": rows})
        return
    for r in rows:
        f = (lambda v: "-" if v is None else f"{v:.2f}")
        click.echo(f"{r['machine']} {r['name']}：故障 {r['failures']} 次，MTBF {f(r['mtbf_h'])} h，MTTR {f(r['mttr_h'])} h，"
                   f"停机 {r['downtime_h']:.2f} h，可用率 {f(None if r['availability'] is None else r['availability'] * 100)}%")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    return [maintenance]
