"""`mom workflow handover|proxy|revoke|choices`: 离职交接, 代理人, 撤销 and 发起人自选 from the command line
(added to the `mom workflow` group of workflow_cmds by this module's plug-in hook)."""
from __future__ import annotations

from typing import Any

import click

from mom.platform.cli.common import HelpGroup, echo_json, reports_errors, workflow_call
from mom.platform.hookspecs import hookimpl


def _rt_call(username: str | None, fn: Any) -> Any:
    return workflow_call(username, fn)


@click.command("handover", help="离职交接：把某人所有未办的待办转给另一人 / hand all open tasks of a user to another")
@click.argument("from_user")
@click.argument("to_user")
@click.option("--comment", help="说明 / a note on each instance's timeline")
@reports_errors
def handover(from_user: str, to_user: str, comment: str | None) -> None:
    from mom.engines.workflow import proxy
    echo_json(_rt_call(None, lambda rt: proxy.handover(rt, from_user, to_user, comment)))


@click.group("proxy", cls=HelpGroup, help="代理人：外出期间新待办交给代理人 / out-of-office proxies")
def proxy_group() -> None:
    pass


@proxy_group.command("set", help="设置代理期 / add a proxy period: USER PROXY --until 2026-12-31T18:00")
@click.argument("user")
@click.argument("proxy_user")
@click.option("--since", help="开始时间（默认现在）/ start (default now)")
@click.option("--until", "until", required=True, help="结束时间 / end")
@reports_errors
def proxy_set(user: str, proxy_user: str, since: str | None, until: str) -> None:
    from mom.engines.workflow import proxy
    body = {"user": user, "proxy": proxy_user, "starts_at": since, "ends_at": until}
    echo_json(_rt_call(None, lambda rt: proxy.set_proxy(rt.conn, rt.ctx.actor, body, now=rt.ctx.now, tz=rt.ctx.tz)))


@proxy_group.command("list", help="当前与将来的代理期 / current and future proxy periods")
@reports_errors
def proxy_list() -> None:
    from mom.engines.workflow import proxy
    echo_json(_rt_call(None, lambda rt: proxy.listing(rt.conn, rt.ctx.actor, everyone=True, now=rt.ctx.now)))


@proxy_group.command("remove", help="删除代理期 / remove a proxy period")
@click.argument("proxy_id", type=int)
@reports_errors
def proxy_remove(proxy_id: int) -> None:
    from mom.engines.workflow import proxy
    _rt_call(None, lambda rt: proxy.delete_proxy(rt.conn, rt.ctx.actor, proxy_id))
    click.echo(f"已删除 / removed {proxy_id}")


@click.command("revoke", help="撤销已通过的申请（走撤销流程）/ revoke an approved request through its revoke flow")
@click.argument("instance_id", type=int)
@click.option("--user", "username", required=True)
@click.option("--comment")
@reports_errors
def revoke(instance_id: int, username: str, comment: str | None) -> None:
    from mom.engines.workflow import linked, tasks
    echo_json(_rt_call(username, lambda rt: tasks.instance_view(rt, linked.revoke(rt, instance_id, comment))))


@click.command("choices", help="发起人自选：可选审批人的节点与候选人 / nodes whose approvers the submitter chooses")
@click.argument("name")
@reports_errors
def choices(name: str) -> None:
    from mom.engines.workflow import choice
    echo_json(_rt_call(None, lambda rt: choice.choices(rt.conn, rt.flows.current(rt.conn, name)[0])))


COMMANDS = [handover, proxy_group, revoke, choices]


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """Adds its commands to `mom workflow` (the group is workflow_cmds'); no top-level command of its own."""
    from mom.platform.cli.workflow_cmds import workflow
    for cmd in COMMANDS:
        if cmd.name not in workflow.commands:
            workflow.add_command(cmd)
    return []
