"""`mom pack …`: list, show, plan, install, upgrade, uninstall and export model packs; checksums.

Install, upgrade and uninstall print the plan first and change nothing until it is confirmed:
``--yes``, or answering y at a console. A blocked plan (a conflict, a missing dependency) exits 1
with its reasons; nothing is written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mom.platform.cli.common import EXIT_INPUT, HelpGroup, echo_json, form_registry, interactive, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import get_settings


@click.group(cls=HelpGroup, help="模型包：安装、升级、卸载、导出 / model packs: install, upgrade, uninstall, export")
def pack() -> None:
    pass


def _tz() -> Any:
    from mom.engines.forms import fieldtypes

    return fieldtypes.plant_tz(get_settings().timezone)


def _label(v: Any) -> str:
    return v.get("zh-CN") or v.get("en") or "" if isinstance(v, dict) else str(v or "")


STATUS = {"available": "未安装 / available", "installed": "已安装 / installed", "uninstalled": "已卸载 / uninstalled"}


@pack.command("list", help="列出找到的和已安装的模型包 / list packs found and installed")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 / print JSON")
@reports_errors
def pack_list(as_json: bool) -> None:
    from mom.engines.packs import manager
    from mom.platform.db.engine import read_tx

    with read_tx(open_engine()) as conn:
        rows = manager.available(conn)
    if as_json:
        echo_json({"packs": rows})
        return
    for r in rows:
        ver = r["installed_version"] or "-"
        up = f" -> {r['version']}（可升级 / upgradable）" if r["upgradable"] else ""
        mod = f"  ! {r['modified_files']} 个文件被修改 / files modified" if r["modified_files"] else ""
        click.echo(f"{r['name']:<20} {_label(r['label'])}  {ver}{up}  {STATUS[r['status']]}{mod}")


@pack.command("show", help="一个模型包：版本、依赖、安装的定义、被修改的文件 / one pack in detail")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 / print JSON")
@reports_errors
def pack_show(name: str, as_json: bool) -> None:
    from mom.engines.packs import manager
    from mom.platform.db.engine import read_tx

    with read_tx(open_engine()) as conn:
        info = manager.show(conn, name)
    if as_json:
        echo_json(info)
        return
    click.echo(f"{info['name']}  {_label(info['label'])}")
    click.echo(f"  状态 / status: {STATUS[info['status']]}  已安装 / installed: {info['installed_version'] or '-'}  "
               f"可用 / available: {info['version'] or '-'}")
    click.echo(f"  来源 / source: {info['source'] or '-'}")
    for dep, rng in (info["depends"] or {}).items():
        click.echo(f"  依赖 / depends: {dep} {rng}")
    for it in info["items"]:
        marks = ("  已自定义 / customised" if it["customised"] else "") + ("  已停用 / retired" if it["retired"] else "")
        click.echo(f"  {_label(it['kind_label'])} {_label(it['label'])}{marks}")
    files = info["files"]
    for what, zh in (("modified", "已修改 / modified"), ("missing", "缺失 / missing"), ("added", "多出 / added")):
        for f in files.get(what, []):
            click.echo(f"  ! {zh}: {f}")


def _unzipped(target: str) -> str:
    """A pack .zip (as the screen's 导出本厂配置 downloads it) is stored like an upload and named by its
    folder; IT at the server's console may install packs with code (hooks.py, migrations)."""
    path = Path(target)
    if not (path.suffix.lower() == ".zip" and path.is_file()):
        return target
    from mom.engines.packs import archive

    s = get_settings()
    engine = open_engine()
    with path.open("rb") as fh:                 # the same refusals as an upload: no shadowing, no lower version
        src = archive.unpack(fh, Path(s.data_dir) / "packs", allow_code=True, max_bytes=s.pack_max_unpacked_bytes,
                             max_files=s.pack_max_files, accept=lambda c: archive.check_upload(c, engine, s))
    click.echo(f"已解压 / unpacked: {src.name} {src.version} -> {src.root}")
    return str(src.root)


def _run(action: str, target: str, *, yes: bool, demo: bool = False, purge: bool = False, as_json: bool = False) -> None:
    from mom.engines.packs import manager

    engine = open_engine()
    target = _unzipped(target)
    p = manager.plan(engine, action, target, forms_factory=form_registry, demo=demo, purge=purge, tz=_tz())
    if as_json and not yes:
        echo_json(p.as_dict())
    else:
        click.echo(p.describe("zh-CN"))
    if p.blocked:
        sys.exit(EXIT_INPUT)
    if not yes:
        if not interactive():
            click.echo("未执行：确认无误后加 --yes 再运行 / not applied: run again with --yes to confirm", err=True)
            sys.exit(EXIT_INPUT)
        if purge:
            typed = click.prompt(f"这会删除模型包 {p.pack} 的表单和全部记录，不能恢复。确认请输入包名 {p.pack} / this deletes the "
                                 f"pack's forms and every record, for good; type the pack name to confirm", default="", show_default=False)
            if typed.strip() != p.pack:
                click.echo("已取消，未做任何修改 / cancelled, nothing was changed")
                return
        elif not click.confirm("确认执行这个计划？/ apply this plan?", default=False):
            click.echo("已取消，未做任何修改 / cancelled, nothing was changed")
            return
    p2, lines = manager.execute(engine, p.hash, action, target, forms_factory=form_registry, demo=demo, purge=purge, tz=_tz())
    for line in lines:
        click.echo(line)
    same = action != "uninstall" and all(w.from_version == w.to_version for w in p2.works) and all(
        d.change == "unchanged" for w in p2.works for d in w.items)
    done = "已是最新，没有变化 / already up to date" if same else {
        "install": "已安装 / installed", "upgrade": "已升级 / upgraded", "uninstall": "已卸载 / uninstalled"}[action]
    click.echo(f"{done}: {p2.pack} {p2.to_version or p2.from_version or ''}")


@pack.command("plan", help="只看计划，不做修改 / print the plan of an install, upgrade or uninstall; changes nothing")
@click.argument("target")
@click.option("--action", type=click.Choice(["install", "upgrade", "uninstall"]), default="install", show_default=True)
@click.option("--purge", is_flag=True, help="卸载时连数据一起删除 / uninstall: delete the data too")
@click.option("--demo", is_flag=True, help="连演示数据 / with the demo data")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 / print JSON")
@reports_errors
def pack_plan(target: str, action: str, purge: bool, demo: bool, as_json: bool) -> None:
    from mom.engines.packs import manager

    engine = open_engine()
    p = manager.plan(engine, action, _unzipped(target), forms_factory=form_registry, demo=demo, purge=purge, tz=_tz())
    if as_json:
        echo_json(p.as_dict())
    else:
        click.echo(p.describe("zh-CN"))
    if p.blocked:
        sys.exit(EXIT_INPUT)


@pack.command("install", help="安装模型包（名称、文件夹或 .zip），先显示计划 / install a pack (name, folder or .zip); shows the plan first")
@click.argument("target")
@click.option("--yes", is_flag=True, help="确认计划 / confirm the plan")
@click.option("--demo", is_flag=True, help="同时载入演示数据 / also load its demo data")
@reports_errors
def pack_install(target: str, yes: bool, demo: bool) -> None:
    _run("install", target, yes=yes, demo=demo)


@pack.command("upgrade", help="升级模型包，保留工厂的修改 / upgrade a pack, keeping the plant's changes")
@click.argument("target")
@click.option("--yes", is_flag=True, help="确认计划 / confirm the plan")
@reports_errors
def pack_upgrade(target: str, yes: bool) -> None:
    _run("upgrade", target, yes=yes)


@pack.command("uninstall", help="卸载模型包：表单停用、数据保留（--purge 连数据删除）/ uninstall: forms retired, data kept")
@click.argument("name")
@click.option("--purge", is_flag=True, help="连数据一起删除，不可恢复 / delete the data too, cannot be undone")
@click.option("--yes", is_flag=True, help="确认计划 / confirm the plan")
@reports_errors
def pack_uninstall(name: str, purge: bool, yes: bool) -> None:
    _run("uninstall", name, yes=yes, purge=purge)


@pack.command("export", help="把本厂自己的配置导出为模型包（不含记录）/ export the plant's own configuration as a pack (no records)")
@click.option("--name", "name", required=True, help="包名，小写英文 / pack name, e.g. plant_config")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="输出文件夹 / output folder")
@click.option("--version", "version", default="1.0.0", show_default=True)
@click.option("--label-zh", default=None, help="中文名称 / Chinese label")
@click.option("--label-en", default=None, help="English label")
@reports_errors
def pack_export(name: str, out: str, version: str, label_zh: str | None, label_en: str | None) -> None:
    from mom.engines.packs import exporter
    from mom.platform.db.engine import read_tx

    label = None
    if label_en and not label_zh:
        raise click.UsageError("请同时给出中文名称（--label-zh）/ give the Chinese label too (--label-zh)")
    if label_zh:
        label = {"zh-CN": label_zh, "en": label_en or label_zh}
    with read_tx(open_engine()) as conn:
        res = exporter.export(conn, name=name, out=Path(out), version=version, label=label)
    counts = "，".join(f"{k} {v}" for k, v in res["counts"].items())
    click.echo(f"已导出 / exported {res['name']} {res['version']} -> {res['path']}（{counts}）")
    for dep, rng in res["depends"].items():
        click.echo(f"  依赖 / depends: {dep} {rng}")


@pack.command("checksums", help="为模型包文件夹写 CHECKSUMS.sha256 / write a pack folder's CHECKSUMS.sha256")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@reports_errors
def pack_checksums(path: str) -> None:
    from mom.engines.packs import checksums

    written = checksums.write(Path(path))
    click.echo(f"已写入 / written: {written}")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom pack …`."""
    return [pack]
