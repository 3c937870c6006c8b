"""`mom record import|export`: records to and from CSV/XLSX files, with the same checks as the API."""
from __future__ import annotations

import sys
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, command_ctx, form_registry, open_engine, reports_errors
from mom.platform.errors import MomError
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import get_settings


@click.group(cls=HelpGroup, help="记录 / records")
def record() -> None:
    pass


@record.command("import", help="导入 CSV/XLSX / import a CSV or XLSX file")
@click.argument("form_name", metavar="FORM")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", help="按此字段更新已有记录（upsert）/ update records with this key value")
@click.option("--mode", type=click.Choice(["all", "skip"]), default="all", show_default=True)
@click.option("--user", "username", help="以此用户身份导入 / import as this user")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False), help="把逐行错误写入 CSV / write row errors to CSV")
@reports_errors
def record_import(form_name: str, file: str, key: str | None, mode: str, username: str | None, errors_out: str | None) -> None:
    import signal
    import threading

    from mom.engines.records import transfer

    engine = open_engine()
    ctx = command_ctx(engine, username)
    s = get_settings()
    limits = transfer.TableLimits.from_settings(s)
    stop = transfer.Stop(limits.max_seconds)
    # SIGTERM stops the import at its next check; it rolls back and writes nothing (Ctrl-C does the same)
    on_main = threading.current_thread() is threading.main_thread()   # signals can only be caught there
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.request(
        "收到停止信号，导入已取消，未导入任何数据", "stopped by a signal; the import was cancelled, nothing was imported")) if on_main else None
    try:
        with open(file, "rb") as fh:
            res = transfer.import_records(engine=engine, registry=form_registry(), ctx=ctx, form=form_name, stream=fh,
                                          fmt=transfer.format_of(file), key=key, mode=mode, chunk=s.import_chunk_rows,
                                          limits=limits, stop=stop)
    except MomError as exc:
        if errors_out and exc.detail.get("errors"):
            _write_errors(errors_out, exc.detail["errors"])
        raise
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
    click.echo(f"共 {res['total']} 行：新增 {res['created']}，更新 {res['updated']}，跳过 {res['skipped']} / "
               f"{res['total']} rows: {res['created']} created, {res['updated']} updated, {res['skipped']} skipped")
    for e in res["errors"]:
        click.echo(f"  {e['message']['zh-CN']} / {e['message']['en']}", err=True)
    if errors_out and res["errors"]:
        _write_errors(errors_out, res["errors"])


def _write_errors(path: str, errors: list[dict[str, Any]]) -> None:
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "field", "错误", "error"])
        for e in errors:
            w.writerow([e["row"], e["field"] or "", e["message"]["zh-CN"], e["message"]["en"]])


@record.command("export", help="导出 CSV/XLSX / export records")
@click.argument("form_name", metavar="FORM")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="输出文件（默认标准输出，仅 CSV）/ output file")
@click.option("--header", type=click.Choice(["label", "key"]), default="label", show_default=True)
@click.option("--user", "username")
@reports_errors
def record_export(form_name: str, fmt: str, out: str | None, header: str, username: str | None) -> None:
    from mom.engines.records import transfer
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    ctx = command_ctx(engine, username)
    if fmt == "xlsx" and not out:
        raise click.ClickException("XLSX 需要 --out 文件 / XLSX needs --out FILE")
    with read_tx(engine) as conn:
        rows = transfer.export_rows(conn=conn, registry=form_registry(), ctx=ctx, form=form_name, header=header)
        if fmt == "xlsx":
            with open(out, "wb") as fh:  # type: ignore[arg-type]
                transfer.write_xlsx(rows, fh, form_name)
        else:
            target = open(out, "wb") if out else sys.stdout.buffer
            try:
                for chunk in transfer.write_csv(rows):
                    target.write(chunk)
            finally:
                if out:
                    target.close()
    if out:
        click.echo(f"ok: {out}")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom record …`."""
    return [record]
