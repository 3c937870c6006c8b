"""`mom form …`: validate, plan, apply, export and purge form definitions (files, folders, packs)."""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from mom.platform.cli.common import EXIT_INPUT, HelpGroup, command_ctx, form_registry, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl


@click.group(cls=HelpGroup, help="表单定义 / form definitions")
def form() -> None:
    pass


def _bundle(path: str) -> Any:
    from mom.engines.packs import loader

    return loader.load(path)


@form.command("validate", help="校验定义文件或文件夹 / validate a definition file or folder")
@click.argument("path")
@reports_errors
def form_validate(path: str) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import read_tx

    bundle = _bundle(path)
    engine = open_engine()
    with read_tx(engine) as conn:
        loader.validate(conn, bundle)
    click.echo(f"ok: {len(bundle.forms)} 个表单定义有效 / {len(bundle.forms)} form definition(s) valid")


@form.command("plan", help="显示变更计划，不做修改 / show the migration plan; writes nothing")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def form_plan(path: str, as_json: bool) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    with read_tx(engine) as conn:
        plans = loader.plan(conn, _bundle(path))
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in plans], ensure_ascii=False, indent=1))
    else:
        for p in plans:
            click.echo(p.describe("zh-CN"))
    if any(p.blocked for p in plans):
        sys.exit(EXIT_INPUT)


@form.command("apply", help="应用定义（一个事务）/ apply definitions in one transaction")
@click.argument("path")
@reports_errors
def form_apply(path: str) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    bundle = _bundle(path)
    forms = form_registry()
    ctx = command_ctx(engine, None)
    with write_tx(engine) as conn:   # forms, then the pack's workflows and rules: all or nothing
        plans = loader.apply(conn, bundle)
        lines = loader.apply_automation(conn, bundle, forms, now=ctx.now, tz=ctx.tz)
    for p in plans:
        click.echo(p.describe("zh-CN"))
    for line in lines:
        click.echo(line)


@form.command("export", help="导出已发布的定义 / print a published definition")
@click.argument("name")
@click.option("--version", type=int)
@reports_errors
def form_export(name: str, version: int | None) -> None:
    from mom.engines.forms import store
    from mom.platform.db.engine import read_tx
    from mom.platform.errors import NotFound

    engine = open_engine()
    with read_tx(engine) as conn:
        cur = store.current(conn, name)
        if cur is None:
            raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist")
        raw = store.version_definition(conn, name, version or cur[1])
    click.echo(json.dumps(raw, ensure_ascii=False, indent=2))


@form.command("purge", help="清除已停用字段的数据（不可恢复）/ destroy a retired field's data")
@click.argument("name")
@click.argument("field_id")
@click.option("--yes", is_flag=True, help="确认 / confirm")
@reports_errors
def form_purge(name: str, field_id: str, yes: bool) -> None:
    from mom.engines.forms import store
    from mom.platform.db.engine import write_tx

    if not yes:
        raise click.ClickException("不可恢复，请加 --yes 确认 / irreversible: add --yes to confirm")
    engine = open_engine()
    with write_tx(engine) as conn:
        click.echo(json.dumps(store.purge_field(conn, name, field_id), ensure_ascii=False))


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom form …`."""
    return [form]
