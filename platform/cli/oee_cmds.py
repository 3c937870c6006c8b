"""`mom oee`: OEE per ISO 22400-2 per machine / line / shift / day as a table in Chinese (or JSON), and the
six big losses. ``--as`` names the user whose rights the answer follows (without it the system)."""
from __future__ import annotations

from typing import Any

import click

from mom.platform.cli.common import command_ctx, echo_json, form_registry, open_engine, reports_errors
from mom.platform.errors import InvalidInput
from mom.platform.hookspecs import hookimpl


def _pct(v: Any) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _h(seconds: float) -> str:
    return f"{seconds / 3600:.2f}h"


def _name(r: dict[str, Any], group: str) -> str:
    if group == "machine":
        return f"{r['machine_code']} {r['machine_name']}"
    if group == "line":
        return f"{r['line_code'] or ''} {r['line_name'] or ''}".strip()
    if group == "shift":
        return f"{r['day']} {r['shift']}"
    return r["day"]


@click.group("oee", invoke_without_command=True,
             help="OEE（ISO 22400-2）：按设备 / 产线 / 班次 / 日统计；子命令 bottlenecks 瓶颈分析 / OEE per machine, line, "
                  "shift or day; bottlenecks")
@click.option("--from", "date_from", default=None, help="起始日期 2026-12-01（默认截止日期前 7 天）/ from")
@click.option("--to", "date_to", default=None, help="截止日期（含当天，默认今天）/ to (includes the day)")
@click.option("--group", type=click.Choice(["machine", "line", "shift", "day"]), default="machine", show_default=True,
              help="分组 / group by")
@click.option("--machine", default=None, help="只看这台设备（编码）/ one machine (code)")
@click.option("--line", default=None, help="只看这条产线（工作中心编码）/ one line (work centre code)")
@click.option("--losses", is_flag=True, help="六大损失与停机原因 / the six big losses and stop reasons")
@click.option("--as", "username", default=None, help="按该用户的权限 / with this user's rights")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@click.pass_context
@reports_errors
def oee_cmd(click_ctx: click.Context, date_from: str | None, date_to: str | None, group: str, machine: str | None,
            line: str | None, losses: bool, username: str | None, as_json: bool) -> None:
    if click_ctx.invoked_subcommand is not None:      # mom oee bottlenecks …
        return
    from mom.engines.oee import report
    from mom.engines.oee.period import period
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    start, end = period(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        out = (report.losses if losses else report.rows)(conn, forms, ctx, start, end, machine=machine, line=line,
                                                         **({} if losses else {"group": group}))
    if as_json:
        echo_json(out)
        return
    click.echo(f"{out['from'][:16]} — {out['to'][:16]}")
    if losses:
        click.echo("六大损失 / six big losses:")
        for x in out["losses"]:
            click.echo(f"  {x['label']['zh-CN']:<8} {_h(x['seconds']):>10}")
        click.echo("停机原因 / stop reasons:")
        for x in out["reasons"][:20]:
            click.echo(f"  {x['label']['zh-CN']:<12} {_h(x['seconds']):>10}  累计 {_pct(x['cumulative'])}")
        return
    # 计划占用 = 生产 + 换型 + 待机 + 停机 + 无数据: the columns add up; time without any state is shown, not
    # counted in A (docs/oee.md)
    click.echo(f"{'':<24} {'计划占用':>8} {'生产':>8} {'换型':>8} {'待机':>8} {'停机':>8} {'无数据':>8} {'产量':>8} "
               f"{'合格':>8} {'A 可用率':>8} {'E 效率':>8} {'QR 质量':>8} {'OEE':>7}")
    for r in [*out["rows"], {**out["total"], "_total": True}]:
        t, q = r["time"], r["quantity"]
        name = "合计 / total" if r.get("_total") else _name(r, group)
        flag = " E>100%" if "effectiveness_over_1" in r["flags"] else ""
        nodata = "no_state_data" in r["flags"]
        a, oee = ("无数据", "无数据") if nodata else (_pct(r["availability"]), _pct(r["oee"]))
        click.echo(f"{name[:24]:<24} {_h(t['pbt_s']):>8} {_h(t['apt_s']):>8} {_h(t['aust_s']):>8} {_h(t['adet_s']):>8} "
                   f"{_h(t['adot_s']):>8} {_h(t['no_data_s']):>8} {q['pq']:>8g} {q['gq']:>8g} "
                   f"{a:>8} {_pct(r['effectiveness']):>8} {_pct(r['quality_rate']):>8} {oee:>7}{flag}")


@oee_cmd.command("bottlenecks", short_help="瓶颈分析与改进模拟 / bottlenecks and what-ifs", help="瓶颈分析：利用率、OEE 损失、计划负荷与瓶颈设备；--whatif 用排程模拟改进方案 / "
                                     "bottlenecks: utilisation, losses, planned load, the limiting machine; --whatif runs a scheduler what-if")
@click.option("--from", "date_from", default=None, help="起始日期（默认截止日期前 7 天）/ from")
@click.option("--to", "date_to", default=None, help="截止日期（含当天，默认今天）/ to")
@click.option("--line", default=None, help="只看这条产线（工作中心编码）/ one line")
@click.option("--days", type=int, default=14, show_default=True, help="计划展望天数 / days of plan ahead")
@click.option("--whatif", type=click.Choice(["extra_shift", "alternative", "shorter_setups"]), default=None,
              help="模拟：加一个班 / 改用替代设备 / 缩短换型（默认对瓶颈设备）/ what-if on the limiting machine (or --machine)")
@click.option("--machine", default=None, help="模拟的设备编码 / machine for the what-if")
@click.option("--machines", "alternatives", default="", help="替代设备编码，逗号分隔（alternative）/ alternative machines, comma-separated")
@click.option("--hours", type=float, default=8, show_default=True, help="加班小时数 / extra shift hours")
@click.option("--percent", type=float, default=50, show_default=True, help="换型缩短百分比 / setup reduction %")
@click.option("--time-limit", type=float, default=3.0, show_default=True, help="每次求解秒数 / seconds per solve")
@click.option("--as", "username", default=None, help="按该用户的权限 / with this user's rights")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def bottlenecks_cmd(date_from: str | None, date_to: str | None, line: str | None, days: int, whatif: str | None,
                    machine: str | None, alternatives: str, hours: float, percent: float, time_limit: float,
                    username: str | None, as_json: bool) -> None:
    from mom.engines.oee import bottleneck, bottleneck_whatif
    from mom.engines.oee.period import period
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    forms, ctx = form_registry(), command_ctx(engine, username)
    start, end = period(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        out = bottleneck.analyse(conn, forms, ctx, start, end, line=line, days=days)
    if whatif:
        target = machine or (out["limiting"] or {}).get("machine_code") or out["top_load"]
        if not target:
            raise InvalidInput("还没有排程计划，无法确定瓶颈设备：请先运行 mom schedule plan 排程，或用 --machine 指定设备",
                               "nothing is planned yet, so there is no limiting machine: run mom schedule plan first, "
                               "or name the machine with --machine")
        names = [c.strip() for c in alternatives.split(",") if c.strip()]
        params = {"extra_shift": {"hours": hours}, "shorter_setups": {"percent": percent},
                  "alternative": {"machines": names} if names else {}}[whatif]
        try:
            res = bottleneck_whatif.run(engine, forms, ctx, machine=target, kind=whatif, parameters=params,
                                        time_limit=time_limit)
        except InvalidInput as e:
            raise _worded(e) from None
        if as_json:
            echo_json(res)
        else:
            click.echo(res["message"]["zh-CN"])
        return
    if as_json:
        echo_json(out)
        return
    click.echo(f"{out['from'][:16]} — {out['to'][:16]}；计划展望 {out['days']} 天")
    click.echo(f"{'设备':<28} {'利用率':>7} {'OEE':>7} {'计划负荷':>8} {'排队':>10} {'关键链':>7}  说明")
    for r in out["machines"]:
        p, q = r["plan"] or {}, r["queue"]
        load = "—" if p.get("load") is None else f"{p['load'] * 100:.0f}%"
        marks = "；".join(m["label"]["zh-CN"] for m in r["marks"])
        click.echo(f"{(r['machine_code'] + ' ' + r['machine_name'])[:28]:<28} {_pct(r['utilisation']):>7} {_pct(r['oee']):>7} "
                   f"{load:>8} {q['tasks']:>3}道{q['minutes'] / 60:>5.1f}h {p.get('critical_min', 0) / 60:>6.1f}h  {marks}")
    if out["limiting"]:
        click.echo("瓶颈：" + out["limiting"]["reason"]["zh-CN"])
        click.echo("可模拟：" + "、".join(s["label"]["zh-CN"] for s in out["suggestions"])
                   + "（mom oee bottlenecks --whatif extra_shift|alternative|shorter_setups）")
    for n in out["notes"]:
        click.echo(n["zh-CN"])


#: the what-if's input fields (JSON pointers of the API) as this command's options (``/kind`` problems are about
#: the machine's data, not the option: their words say it)
_OPTIONS = {"/machine": "--machine", "/parameters/hours": "--hours", "/parameters/percent": "--percent",
            "/parameters/machines": "--machines"}


def _worded(e: InvalidInput) -> InvalidInput:
    """The what-if's refusal with the option it concerns in words instead of the API's field pointer."""
    opts = sorted({_OPTIONS[p.path] for p in e.problems if p.path in _OPTIONS})
    tail = f"（{'、'.join(opts)}）" if opts else ""
    return InvalidInput(e.zh + tail, e.en + (f" ({', '.join(opts)})" if opts else ""))


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom oee`."""
    return [oee_cmd]
