"""`mom dept …`: departments, their parent, head (主管) and deputy (副主管) — who the workflow's
department-head approvers (直属主管 / 连续多级主管) are."""
from __future__ import annotations

from typing import Any

import click

from mom.platform.cli.common import HelpGroup, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl

CLEAR = "-"


def _show(d: dict[str, Any]) -> str:
    def person(p: Any) -> str:
        return f"{p['display_name']}（{p['username']}）" if p else "未设置 / not set"
    return (f"{d['code']}  {d['name']}  上级 / parent: {d['parent'] or '-'}  主管 / head: {person(d['head'])}  "
            f"副主管 / deputy: {person(d['deputy'])}  人数 / members: {d['members']}")


@click.group(cls=HelpGroup, help="部门与部门主管 / departments and their heads")
def dept() -> None:
    pass


@dept.command("list", help="列出部门、上级、主管和副主管 / list departments with parent, head and deputy")
@reports_errors
def dept_list() -> None:
    from mom.platform.auth import directory
    from mom.platform.db.engine import read_tx

    with read_tx(open_engine()) as conn:
        rows = directory.listing(conn)
    for d in rows:
        click.echo(_show(d))
    if not rows:
        click.echo("还没有部门 / no departments yet")


@dept.command("add", help="新建部门 / add a department")
@click.argument("code")
@click.argument("name")
@click.option("--parent", help="上级部门编码 / parent department code")
@click.option("--head", help="主管的用户名 / the head's username")
@click.option("--deputy", help="副主管的用户名（主管未设置或停用时审批）/ the deputy's username (approves when the head is "
                               "not set or disabled)")
@reports_errors
def dept_add(code: str, name: str, parent: str | None, head: str | None, deputy: str | None) -> None:
    from mom.platform.auth import directory
    from mom.platform.db.engine import write_tx

    with write_tx(open_engine()) as conn:
        d = directory.create_department(conn, code, name, parent, head=head, deputy=deputy)
    click.echo(f"部门已保存 / department saved: {_show(d)}")


@dept.command("set", help="修改部门：名称、上级、主管、副主管（给 - 表示清除）/ change a department: name, parent, head, "
                          "deputy (- clears)")
@click.argument("code")
@click.option("--name")
@click.option("--parent", help="上级部门编码，- 表示顶级 / parent code, - for a top department")
@click.option("--head", help="主管的用户名，- 表示清除 / the head's username, - clears")
@click.option("--deputy", help="副主管的用户名，- 表示清除 / the deputy's username, - clears")
@reports_errors
def dept_set(code: str, name: str | None, parent: str | None, head: str | None, deputy: str | None) -> None:
    from mom.platform.auth import directory
    from mom.platform.db.engine import write_tx

    given: dict[str, Any] = {}
    for key, value in (("parent", parent), ("head", head), ("deputy", deputy)):
        if value is not None:
            given[key] = None if value == CLEAR else value
    if name is not None:
        given["name"] = name
    if not given:
        raise click.UsageError("请至少给出 --name、--parent、--head 或 --deputy 之一 / give at least one of --name, "
                               "--parent, --head, --deputy")
    with write_tx(open_engine()) as conn:
        d = directory.update_department(conn, code, **given)
    click.echo(f"部门已修改 / department changed: {_show(d)}")


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom dept …`: departments, their heads and deputies."""
    return [dept]
