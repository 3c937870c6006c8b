"""`mom report …` (validate, apply, run, drill, list) and `mom print`.

``validate`` and ``apply`` take a file or a folder holding mom.report/1, mom.dashboard/1 and
mom.print/1 definitions (also a pack's reports/, dashboards/ and prints/ folders); apply publishes
them in one transaction, reports before the dashboards that use them."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mom.platform.cli.common import (HelpGroup, command_ctx, definition_files, echo_json, form_registry, open_engine,
                                     read_json, reports_errors, validate_each)
from mom.platform.errors import InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

FORMATS = {"mom.report/1": "report", "mom.dashboard/1": "dashboard", "mom.print/1": "print_template"}
ORDER = {"report": 0, "print_template": 1, "dashboard": 2}


def _files(path: str) -> list[tuple[str, str, Any]]:
    p, files = definition_files(path, ("reports", "dashboards", "prints"))
    out = []
    for f in files:
        raw = read_json(f)
        kind = FORMATS.get(raw.get("format")) if isinstance(raw, dict) else None
        if kind is None and p.is_file():
            raise InvalidInput(f"{f}：format 应为 {', '.join(FORMATS)}", f"{f}: format must be one of {', '.join(FORMATS)}",
                               problems=[Problem(f"{f}#/format", "未知格式", "unknown format", "format")])
        if kind:
            out.append((str(f), kind, raw))
    if not out:
        raise InvalidInput("没有找到报表、看板或打印模板定义", "no report, dashboard or print template definitions found")
    return sorted(out, key=lambda x: ORDER[x[1]])


def _appliers() -> dict[str, Any]:
    from mom.engines.reports import dashboard, printing, service
    return {"report": (service.validate, service.apply), "dashboard": (dashboard.validate, dashboard.apply),
            "print_template": (printing.validate, printing.apply)}


def _kv(items: tuple[str, ...], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise InvalidInput(f"{what} 应写作 键=值：{it}", f"{what} must be key=value: {it}",
                               problems=[Problem(f"/{what}", f"格式应为 键=值：{it}", f"expected key=value: {it}", "format")])
        k, v = it.split("=", 1)
        out[k.strip()] = v
    return out


@click.group(cls=HelpGroup, help="报表、看板与打印模板 / reports, dashboards and print templates")
def report() -> None:
    pass


@report.command("validate", help="校验定义（文件或文件夹），不发布 / check definitions without publishing")
@click.argument("path")
@reports_errors
def validate(path: str) -> None:
    from mom.platform.db.engine import read_tx
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, None)
    items = _files(path)
    pending: dict[str, Any] = {}          # the folder's valid reports, seen by its dashboards as apply would publish them

    def check(_: str, item: tuple[str, Any]) -> None:
        kind, raw = item
        if kind == "dashboard":
            _appliers()[kind][0](conn, forms, raw, tz=ctx.tz, pending=pending)
            return
        _appliers()[kind][0](conn, forms, raw, tz=ctx.tz)
        if kind == "report" and isinstance(raw.get("name"), str):
            pending[raw["name"]] = raw

    with read_tx(engine) as conn:
        validate_each([(file, (kind, raw)) for file, kind, raw in items], check)


@report.command("apply", help="发布报表、看板与打印模板（一个事务）/ publish them in one transaction")
@click.argument("path")
@reports_errors
def apply(path: str) -> None:
    from mom.platform.db.engine import write_tx
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, None)
    items = _files(path)
    with write_tx(engine) as conn:
        out = [(kind, _appliers()[kind][1](conn, forms, raw, now=ctx.now, tz=ctx.tz, actor_id=None)) for _, kind, raw in items]
    for kind, r in out:
        click.echo(f"{kind} {r['name']}: v{r['version']}{'' if r['changed'] else '（未变 / unchanged）'}")


@report.command("list", help="已发布的报表 / published reports")
@reports_errors
def list_() -> None:
    from mom.engines.reports import store
    from mom.platform.db.engine import read_tx
    engine = open_engine()
    with read_tx(engine) as conn:
        echo_json({"reports": store.listing(conn, "report"), "dashboards": store.listing(conn, "dashboard"),
               "print_templates": store.listing(conn, "print_template")})


@report.command("refresh", help="重建预聚合报表的汇总表 / rebuild a pre-aggregated report's summary table")
@click.argument("name")
@reports_errors
def refresh(name: str) -> None:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.reports import service
    from mom.platform.db.engine import write_tx
    from mom.platform.settings import get_settings
    engine, forms = open_engine(), form_registry()
    with write_tx(engine) as conn:
        echo_json({"report": name, **service.refresh(conn, forms, name, tz=plant_tz(get_settings().timezone))})


@report.command("run", help="运行报表 / run a report: mom report run NAME --param period=last_30_days --format csv; "
                "控制图 / a control chart: --chart xbar_r --value value --subgroup lot_no [--format text]")
@click.argument("name")
@click.option("--param", "params", multiple=True, help="参数 键=值（可多次）/ parameter key=value (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "text"]), default="json",
              help="text：控制图的文字摘要 / a control chart's text summary")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="写入文件 / write to a file")
@click.option("--as", "username", default=None, help="以该用户的权限运行 / run with this user's permissions")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN")
@click.option("--limit", type=int, default=None)
@click.option("--chart", type=click.Choice(["xbar_r", "xbar_s", "i_mr", "p", "np", "c", "u", "ewma", "cusum"]), default=None,
              help="控制图：读全部行画图（--value 必填）/ a control chart over every row (needs --value)")
@click.option("--value", "spc_value", default=None, help="控制图的数值列 / the chart's value column")
@click.option("--subgroup", default=None, help="子组列（X̄ 图）/ subgroup column (X̄ charts)")
@click.option("--size", default=None, help="样本量列（p/np/u 图）/ sample-size column (p, np, u)")
@click.option("--lsl", type=float, default=None, help="规格下限 / lower specification limit")
@click.option("--usl", type=float, default=None, help="规格上限 / upper specification limit")
@click.option("--rules", default="western_electric", help="判异规则 / run rules: western_electric, nelson, nelson:1,2,5")
@click.option("--k", "k_sigma", type=float, default=3.0, help="k 倍σ控制限 / limits at k sigma")
@reports_errors
def run(name: str, params: tuple[str, ...], fmt: str, output: str | None, username: str | None, lang: str,
        limit: int | None, chart: str | None, spc_value: str | None, subgroup: str | None, size: str | None,
        lsl: float | None, usl: float | None, rules: str, k_sigma: float) -> None:
    from mom.engines.reports import service
    from mom.engines.reports.spc import report as spc_report
    from mom.platform.db.engine import read_tx
    from mom.platform.settings import get_settings
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    if fmt == "text" and not chart:
        raise InvalidInput("--format text 只用于控制图（--chart）", "--format text is for control charts (--chart)",
                           problems=[Problem("/format", "需要 --chart", "needs --chart", "required")])
    if chart and not spc_value:
        raise InvalidInput("控制图需要 --value（数值列）", "a control chart needs --value (the value column)",
                           problems=[Problem("/value", "缺少数值列", "value column missing", "required")])
    with read_tx(engine) as conn:
        result = service.run(conn, forms, ctx, name, _kv(params, "param"), max_scan=get_settings().report_max_scan_rows,
                             limit=spc_report.MAX_ROWS if chart else limit)
    if chart:
        keys = {c["key"] for c in result["columns"]}
        for opt, col in (("value", spc_value), ("subgroup", subgroup), ("size", size)):
            if col is not None and col not in keys:
                raise InvalidInput(f"报表 {name} 没有列 {col}（--{opt}）", f"report {name} has no column {col} (--{opt})",
                                   problems=[Problem(f"/{opt}", f"没有列 {col}", f"no column {col}", "unknown_column")])
        w = {"value": spc_value, "subgroup": subgroup, "size": size, "chart": chart, "lsl": lsl, "usl": usl,
             "rules": rules, "k": k_sigma}
        res, labels = spc_report.compute(w, result)
        if fmt in ("csv", "xlsx"):
            raise InvalidInput("控制图输出为 json 或 text", "a control chart is written as json or text",
                               problems=[Problem("/format", "应为 json 或 text", "use json or text", "enum")])
        text = spc_report.as_text(res, labels) + "\n" if fmt == "text" else \
            json.dumps({"spc": res, "labels": labels}, ensure_ascii=False, indent=2, default=str) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"{output}: {res['subgroups']} 个点 / points")
        else:
            click.echo(text, nl=False)
        return
    if fmt == "json":
        data = json.dumps(result, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    else:
        data = service.export(result, fmt, lang)[0]
    if output:
        Path(output).write_bytes(data)
        click.echo(f"{output}: {len(result['rows'])} 行 / rows")
    elif fmt == "xlsx":
        raise InvalidInput("xlsx 需要 --output 文件", "xlsx needs --output FILE",
                           problems=[Problem("/output", "缺少输出文件", "output file missing", "required")])
    else:
        sys.stdout.buffer.write(data if fmt != "csv" else data.lstrip(b"\xef\xbb\xbf"))
        sys.stdout.buffer.flush()


@report.command("dashboard", help="看板各组件的数据（JSON）/ every widget's data: mom report dashboard NAME --param period=last_7_days")
@click.argument("name")
@click.option("--param", "params", multiple=True, help="参数 键=值（可多次）/ parameter key=value (repeatable)")
@click.option("--widget", default=None, help="只要这个组件 / only this widget")
@click.option("--as", "username", default=None, help="以该用户的权限运行 / run with this user's permissions")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="写入文件 / write to a file")
@reports_errors
def dashboard_(name: str, params: tuple[str, ...], widget: str | None, username: str | None, output: str | None) -> None:
    from mom.engines.reports import dashboard
    from mom.platform.db.engine import read_tx
    from mom.platform.settings import get_settings
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        result = dashboard.data(conn, forms, ctx, name, _kv(params, "param"), max_scan=get_settings().report_max_scan_rows,
                                only=widget)
    data = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    if output:
        Path(output).write_text(data, encoding="utf-8")
        click.echo(f"{output}: {len(result.get('widgets', []))} 个组件 / widgets")
    else:
        click.echo(data)


@report.command("drill", help="下钻到明细记录 / the records behind a result row: --point supplier=某某")
@click.argument("name")
@click.option("--point", "points", multiple=True, required=True)
@click.option("--param", "params", multiple=True)
@click.option("--as", "username", default=None)
@reports_errors
def drill(name: str, points: tuple[str, ...], params: tuple[str, ...], username: str | None) -> None:
    from mom.engines.reports import service
    from mom.platform.db.engine import read_tx
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        echo_json(service.drill(conn, forms, ctx, name, _kv(params, "param"), _kv(points, "point")))


@click.command("print", help="按模板打印 / print a record or report: mom print TEMPLATE --record ID -o out.pdf")
@click.argument("template")
@click.option("--record", "record_id", type=int, default=None)
@click.option("--param", "params", multiple=True)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@click.option("--as", "username", default=None)
@reports_errors
def print_(template: str, record_id: int | None, params: tuple[str, ...], fmt: str, output: str | None,
           username: str | None) -> None:
    from mom.engines.reports import printing
    from mom.platform.db.engine import read_tx
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        page = printing.render(conn, forms, ctx, template, record_id=record_id, params=_kv(params, "param"))
    data = page.encode("utf-8") if fmt == "html" else printing.to_pdf(page)
    if output:
        Path(output).write_bytes(data)
        click.echo(f"{output}: {len(data)} bytes")
    elif fmt == "pdf":
        raise InvalidInput("pdf 需要 --output 文件", "pdf needs --output FILE")
    else:
        sys.stdout.buffer.write(data)


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom report …` and `mom print`."""
    return [report, print_]
