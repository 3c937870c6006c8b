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
    with read_tx(engine) as conn:
        validate_each([(file, (kind, raw)) for file, kind, raw in items],
                      lambda _, item: _appliers()[item[0]][0](conn, forms, item[1], tz=ctx.tz))


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


@report.command("run", help="运行报表 / run a report: mom report run NAME --param period=last_30_days --format csv")
@click.argument("name")
@click.option("--param", "params", multiple=True, help="参数 键=值（可多次）/ parameter key=value (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="写入文件 / write to a file")
@click.option("--as", "username", default=None, help="以该用户的权限运行 / run with this user's permissions")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN")
@click.option("--limit", type=int, default=None)
@reports_errors
def run(name: str, params: tuple[str, ...], fmt: str, output: str | None, username: str | None, lang: str,
        limit: int | None) -> None:
    from mom.engines.reports import service
    from mom.platform.db.engine import read_tx
    from mom.platform.settings import get_settings
    engine, forms = open_engine(), form_registry()
    ctx = command_ctx(engine, username)
    with read_tx(engine) as conn:
        result = service.run(conn, forms, ctx, name, _kv(params, "param"),
                             max_scan=get_settings().report_max_scan_rows, limit=limit)
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
