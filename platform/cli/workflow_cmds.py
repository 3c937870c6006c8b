"""`mom workflow …` (validate, apply, start, tasks, act, decide, withdraw, resubmit, remind, instances,
migrate, dead, retry) and `mom worker`."""
from __future__ import annotations

import json
import threading
from typing import Any

import click

from mom.platform.cli.common import (HelpGroup, command_ctx, definition_files, echo_json, form_registry, open_engine,
                                     read_json, reports_errors, validate_each, workflow_call)
from mom.platform.errors import InvalidInput
from mom.platform.hookspecs import hookimpl


def _setup(username: str | None = None) -> tuple[Any, Any, Any, Any]:
    engine = open_engine()
    forms = form_registry()
    return engine, forms, forms.hooks.flows, command_ctx(engine, username)


def _files(path: str) -> list[tuple[str, Any]]:
    out = []
    for f in definition_files(path, ("workflows", "rules"))[1]:
        raw = read_json(f)
        if isinstance(raw, dict) and raw.get("format") in ("mom.workflow/1", "mom.rule/1"):
            out.append((str(f), raw))
    if not out:
        raise InvalidInput("没有找到 mom.workflow/1 或 mom.rule/1 定义", "no mom.workflow/1 or mom.rule/1 definitions found")
    return out


def _rt_call(username: str | None, fn: Any) -> Any:
    return workflow_call(username, fn)


@click.group(cls=HelpGroup, help="审批流程与事件规则 / approval flows and event rules")
def workflow() -> None:
    pass


@workflow.command("validate", help="校验流程或规则定义（文件或文件夹）/ validate workflow or rule definitions")
@click.argument("path")
@reports_errors
def validate(path: str) -> None:
    from mom.engines.workflow import rules, store
    from mom.platform.db.engine import read_tx
    engine, forms, _, _ = _setup()
    items = _files(path)
    with read_tx(engine) as conn:
        validate_each(items, lambda _, raw: store.validate(conn, forms, raw) if raw["format"] == "mom.workflow/1"
                      else rules.validate_rule(raw, forms=forms, conn=conn))


@workflow.command("apply", help="发布流程与规则（一个事务）/ publish workflows and rules in one transaction")
@click.argument("path")
@reports_errors
def apply(path: str) -> None:
    from mom.engines.workflow import rules, store
    from mom.platform.db.engine import write_tx
    engine, forms, _, ctx = _setup()
    items = _files(path)
    with write_tx(engine) as conn:
        out = [(store.apply(conn, forms, raw) if raw["format"] == "mom.workflow/1"
                else rules.apply_rule(conn, forms, raw, now=ctx.now, tz=ctx.tz)) for _, raw in items]
    for r in out:
        click.echo(f"{r['name']}: v{r['version']}{'' if r['changed'] else '（未变 / unchanged）'}")


@workflow.command("start", help="提交记录审批 / submit a record for approval")
@click.argument("name")
@click.argument("record_id", type=int)
@click.option("--user", "username", required=True, help="发起人 / initiator")
@click.option("--approvers", help='发起人自选，JSON：{"节点 id": ["用户名", …]} / chosen approvers per node')
@reports_errors
def start(name: str, record_id: int, username: str, approvers: str | None) -> None:
    from mom.engines.workflow import runtime, tasks
    chosen = json.loads(approvers) if approvers else None
    echo_json(_rt_call(username, lambda rt: tasks.instance_view(rt, runtime.start(rt, name, record_id, approvers=chosen))))


@workflow.command("tasks", help="某用户的待办等 / a user's inbox")
@click.option("--user", "username", required=True)
@click.option("--box", type=click.Choice(["todo", "done", "cc", "started"]), default="todo", show_default=True)
@reports_errors
def tasks_cmd(username: str, box: str) -> None:
    from mom.engines.workflow import inbox
    echo_json(_rt_call(username, lambda rt: inbox.listing(rt.conn, rt.flows, rt.ctx.actor.id, box, forms=rt.forms, ctx=rt.ctx)))


@workflow.command("act", help="处理待办 / act on a task: approve|reject|return|transfer|delegate|add_signer|comment|read")
@click.argument("task_id", type=int)
@click.argument("action")
@click.option("--user", "username", required=True)
@click.option("--comment")
@click.option("--to", help="转办/委派/加签的目标用户名 / target username")
@click.option("--position", type=click.Choice(["before", "after"]), help="加签位置 / add signer before or after")
@click.option("--target", help="退回到：initiator | previous | 节点 id / return to")
@click.option("--resume", type=click.Choice(["restart", "back"]), help="退回后：重走或直接回到本节点")
@click.option("--values", help="JSON：本节点可改字段的新值 / JSON values of editable fields")
@reports_errors
def act(task_id: int, action: str, username: str, comment: str | None, to: str | None, position: str | None,
        target: str | None, resume: str | None, values: str | None) -> None:
    from mom.engines.workflow import tasks
    body = {k: v for k, v in dict(comment=comment, to=to, position=position, target=target, resume=resume).items() if v}
    if values:
        body["values"] = json.loads(values)
    echo_json(_rt_call(username, lambda rt: tasks.act(rt, task_id, action, body)))


@workflow.command("withdraw", help="发起人撤回 / the initiator withdraws")
@click.argument("instance_id", type=int)
@click.option("--user", "username", required=True)
@reports_errors
def withdraw(instance_id: int, username: str) -> None:
    from mom.engines.workflow import tasks
    echo_json(_rt_call(username, lambda rt: tasks.withdraw(rt, instance_id)))


@workflow.command("resubmit", help="退回后重新提交 / resubmit after a return")
@click.argument("instance_id", type=int)
@click.option("--user", "username", required=True)
@reports_errors
def resubmit(instance_id: int, username: str) -> None:
    from mom.engines.workflow import tasks
    echo_json(_rt_call(username, lambda rt: tasks.resubmit(rt, instance_id)))


@workflow.command("decide", help="批量审批：同一意见处理多条待办，逐条给出结果 / approve or reject several tasks, a result each")
@click.argument("action", type=click.Choice(["approve", "reject"]))
@click.argument("task_ids", type=int, nargs=-1, required=True)
@click.option("--user", "username", required=True)
@click.option("--comment")
@reports_errors
def decide(action: str, task_ids: tuple[int, ...], username: str, comment: str | None) -> None:
    from mom.engines.workflow import inbox
    engine, forms, flows, ctx = _setup(username)
    echo_json(inbox.decide_many(engine, ctx, forms, flows, {"action": action, "task_ids": list(task_ids), "comment": comment}))


@workflow.command("remind", help="催办：发起人提醒当前审批人（每人每小时一次）/ the initiator reminds the current approvers")
@click.argument("instance_id", type=int)
@click.option("--user", "username", required=True)
@reports_errors
def remind(instance_id: int, username: str) -> None:
    from mom.engines.workflow import reminders
    echo_json(_rt_call(username, lambda rt: reminders.remind(rt, instance_id)))


@workflow.command("instances", help="列出流程实例 / list workflow instances")
@click.option("--workflow", "name")
@click.option("--status")
@click.option("--record", help="FORM:ID")
@click.option("--id", "instance_id", type=int, help="显示一个实例的待办与时间线 / one instance in full")
@reports_errors
def instances(name: str | None, status: str | None, record: str | None, instance_id: int | None) -> None:
    import sqlalchemy as sa
    from mom.engines.workflow import tasks, views
    from mom.engines.workflow.runtime import I, load_instance

    def run(rt: Any) -> Any:
        if instance_id is not None:
            return tasks.instance_view(rt, load_instance(rt, instance_id, lock=False), full=True)
        q = sa.select(I)
        if name:
            q = q.where(I.c.workflow == name)
        if status:
            q = q.where(I.c.status == status)
        if record:
            form, _, rid = record.partition(":")
            q = q.where(I.c.form == form, I.c.record_id == int(rid))
        return views.instance_views(rt, rt.conn.execute(q.order_by(I.c.id.desc()).limit(200)).mappings())
    echo_json(_rt_call(None, run))


@workflow.command("migrate", help="把运行中的实例迁到新版本（先预览）/ move running instances to another version")
@click.argument("name")
@click.option("--from", "from_version", type=int, required=True)
@click.option("--to", "to_version", type=int)
@click.option("--apply", "do_apply", is_flag=True, help="执行迁移；不加只预览 / do it; without this, preview only")
@reports_errors
def migrate_cmd(name: str, from_version: int, to_version: int | None, do_apply: bool) -> None:
    from mom.engines.workflow import migrate
    echo_json(_rt_call(None, lambda rt: migrate.apply(rt.conn, rt.flows, name, from_version, to_version, actor_id=None, now=rt.ctx.now)
                   if do_apply else migrate.plan(rt.conn, rt.flows, name, from_version, to_version)))


@workflow.command("dead", help="死信列表 / the dead-letter list")
@reports_errors
def dead() -> None:
    from mom.platform import outbox
    echo_json(_rt_call(None, lambda rt: {"stats": outbox.stats(rt.conn), "items": outbox.listing(rt.conn, "dead")}))


@workflow.command("retry", help="重试死信事件 / retry dead events (ids, or --all)")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True)
@reports_errors
def retry(ids: tuple[int, ...], retry_all: bool) -> None:
    from mom.platform import outbox
    if not ids and not retry_all:
        raise click.UsageError("给出事件 id，或用 --all / give event ids or --all")
    n = _rt_call(None, lambda rt: outbox.retry(rt.conn, list(ids) if ids else None, now=rt.ctx.now))
    click.echo(f"重新排队 / requeued: {n}")


@click.command(help="运行发件箱、超时与定时规则的工作进程 / run the outbox, timeout and schedule worker")
@click.option("--once", is_flag=True, help="处理完当前积压即退出 / drain what is due, then exit")
@click.option("--name", help="工作进程名（默认 主机:进程号）/ worker name")
@reports_errors
def worker(once: bool, name: str | None) -> None:
    from mom.platform.settings import get_settings
    from mom.platform.worker import Worker
    engine, forms, flows, _ = _setup()
    w = Worker(engine, get_settings(), forms=forms, flows=flows, name=name)
    if once:
        echo_json(w.drain())
        return
    stop = threading.Event()
    click.echo(f"worker {w.name} running; Ctrl+C to stop")
    try:
        w.run(stop)
    except KeyboardInterrupt:
        stop.set()


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom workflow …` (approval_cmds adds handover, proxy, revoke, choices) and `mom worker`."""
    return [workflow, worker]
