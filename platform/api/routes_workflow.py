"""Workflows, tasks (my inbox), instances, record transitions and timeline, rules, events, outbox,
notifications."""
from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool

from mom.engines.records import service as S
from mom.engines.workflow import inbox, lint, migrate, reminders, rules, standing, store, tasks, views, visibility
from mom.engines.workflow.instance import WorkflowInstance
from mom.engines.workflow.runtime import I, Runtime, event, load_instance, start
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform import outbox
from mom.platform.api.deps import AdminDep, CtxDep, EngineDep, RegistryDep, same_name
from mom.platform.api.models import ERRORS, InstanceRead, TaskActionRead, TaskPage
from mom.platform.api.params import Limit, MAX_ID, MAX_ID32, Offset, OptText, PathId, PathName, QueryId, QueryName, QueryText, QueryVersion, body_id, json_object
from mom.platform.api.responses import JSONBytes
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InvalidInput, NotFound, Problem

router = APIRouter(prefix="/api", tags=["workflows"], responses=ERRORS)


async def get_flows(request: Request) -> WorkflowRegistry:
    return request.app.state.flows


FlowsDep = Annotated[WorkflowRegistry, Depends(get_flows)]
BodyDep = Annotated[Any, Body()]


def _int(v: Any, name: str) -> int:
    return body_id(v, f"/{name}", largest=MAX_ID32 if name.endswith("version") else MAX_ID)


def _ids(v: Any, name: str) -> list[int] | None:
    """An optional list of ids in a body (``ids``, ``instance_ids``), each a positive 64-bit integer."""
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > 10_000:
        raise InvalidInput(f"{name} 应为编号列表（最多 10000 个）", f"{name} must be a list of ids (at most 10000)",
                           problems=[Problem(f"/{name}", "应为编号列表", "must be a list of ids", "type")])
    return [body_id(x, f"/{name}/{i}") for i, x in enumerate(v)]


# ---------------------------------------------------------------- definitions

@router.put("/workflows/{name}", summary="Publish a workflow definition (new version; running instances keep theirs)")
def put_workflow(name: PathName, body: BodyDep, engine: EngineDep, registry: RegistryDep, actor: AdminDep) -> dict[str, Any]:
    same_name(name, body)
    with write_tx(engine) as conn:
        out = store.apply(conn, registry, body, actor_id=actor.id)
        return {**out, "warnings": lint.as_dicts(lint.warnings(body, registry.get(conn, body["form"])))}


@router.post("/workflows/validate", summary="Check a workflow definition without publishing it")
def validate_workflow(body: BodyDep, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        spec = store.validate(conn, registry, body)
        warned = lint.as_dicts(lint.warnings(body, registry.get(conn, spec.form)))   # shown, not blocking
    return {"ok": True, "name": spec.name, "form": spec.form, "warnings": warned,
            "nodes": [{"id": n.id, "type": n.type, "label": n.label, "next": n.next} for n in spec.nodes.values()]}


@router.get("/workflows", summary="Published workflows")
def list_workflows(engine: EngineDep, ctx: CtxDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return store.listing(conn)


@router.get("/workflows/{name}", summary="A workflow's definition (current, or ?version=n) and its versions")
def get_workflow(name: PathName, engine: EngineDep, ctx: CtxDep, version: QueryVersion = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        definition = store.definition(conn, name, version)
        versions = [dict(version=r[0], published_at=r[1].isoformat()) for r in conn.execute(
            sa.select(T.workflow_version.c.version, T.workflow_version.c.published_at)
            .where(T.workflow_version.c.name == name).order_by(T.workflow_version.c.version))]
    return {"definition": definition, "versions": versions}


def _switch(name: str, enabled: bool, engine: Any) -> dict[str, Any]:
    with write_tx(engine) as conn:
        store.set_enabled(conn, name, enabled)
    return {"name": name, "enabled": enabled}


@router.post("/workflows/{name}/enable", summary="Enable a workflow")
def enable_workflow(name: PathName, engine: EngineDep, actor: AdminDep) -> dict[str, Any]:
    return _switch(name, True, engine)


@router.post("/workflows/{name}/disable", summary="Disable a workflow (running instances go on; no new starts)")
def disable_workflow(name: PathName, engine: EngineDep, actor: AdminDep) -> dict[str, Any]:
    return _switch(name, False, engine)


@router.post("/workflows/{name}/start", status_code=201, summary="Submit a record for approval: body {record_id, approvers?}",
             response_model=InstanceRead)   # documents only: the route answers a ready JSONBytes
async def start_workflow(name: PathName, body: BodyDep, request: Request, ctx: CtxDep) -> Any:
    b = json_object(body)
    rid = _int(b.get("record_id"), "record_id")
    state = request.app.state

    def work() -> dict[str, Any]:
        with write_tx(state.engine) as conn:
            rt = Runtime(conn=conn, ctx=ctx, forms=state.registry, flows=state.flows)
            return tasks.instance_view(rt, start(rt, name, rid, approvers=b.get("approvers")), full=True)

    return JSONBytes(await run_in_threadpool(work), status_code=201)


@router.post("/workflows/{name}/migrate", summary="Move running instances to another version: {from_version, to_version?, instance_ids?, apply?}")
def migrate_instances(name: PathName, body: BodyDep, engine: EngineDep, flows: FlowsDep, actor: AdminDep, ctx: CtxDep) -> dict[str, Any]:
    b = json_object(body)
    args = (name, _int(b.get("from_version"), "from_version"),
            _int(b["to_version"], "to_version") if b.get("to_version") is not None else None, _ids(b.get("instance_ids"), "instance_ids"))
    with write_tx(engine) as conn:
        if b.get("apply"):
            return migrate.apply(conn, flows, *args, actor_id=actor.id, now=ctx.now)
        return migrate.plan(conn, flows, *args)


# ---------------------------------------------------------------- tasks (inbox)

@router.get("/tasks", summary="My inbox: box=todo|done|cc|started|returned (my requests sent back to me), with counts", responses={200: {"model": TaskPage}})
def my_tasks(engine: EngineDep, registry: RegistryDep, flows: FlowsDep, ctx: CtxDep, box: QueryText = "todo", limit: Limit = 50,
             offset: Offset = 0, workflow: QueryName = None) -> dict[str, Any]:
    with read_tx(engine) as conn:   # each item with its record's key fields and files (inbox.listing)
        return inbox.listing(conn, flows, ctx.actor.id, box, limit=limit, offset=offset, workflow=workflow, forms=registry, ctx=ctx)


@router.get("/tasks/counts", summary="My inbox counts")
def my_counts(engine: EngineDep, ctx: CtxDep) -> dict[str, int]:
    with read_tx(engine) as conn:
        return inbox.counts(conn, ctx.actor.id)


@router.post("/tasks/batch", summary="批量审批: approve or reject several of my tasks with one comment, each on its own")
async def decide_tasks(request: Request, ctx: CtxDep, body: BodyDep) -> dict[str, Any]:
    state = request.app.state
    return await run_in_threadpool(inbox.decide_many, state.engine, ctx, state.registry, state.flows, body)


@router.post("/tasks/{task_id}/{action}",
             summary="approve | reject | return | transfer | delegate | add_signer | comment | read",
             response_model=TaskActionRead)   # documents only: the route answers a ready JSONBytes
async def act_on_task(task_id: PathId, action: PathName, request: Request, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> Any:
    # The hottest workflow path: one worker-thread hop for the database work (engine, registries from
    # the app state rather than as dependencies), the answer encoded once with orjson.
    state, doc = request.app.state, json_object(body)

    def work() -> dict[str, Any]:
        with write_tx(state.engine) as conn:
            return tasks.act(Runtime(conn=conn, ctx=ctx, forms=state.registry, flows=state.flows), task_id, action, doc)

    return JSONBytes(await run_in_threadpool(work))


# ---------------------------------------------------------------- instances

def _may_see(rt: Runtime, inst: WorkflowInstance) -> None:
    """404, as for an id that does not exist, when the caller may not see the instance."""
    if not visibility.may_see(rt, inst):
        raise visibility.no_instance(inst.id)


@router.get("/workflow-instances", summary="Instances of a record (?form=&record_id=) or of a workflow (?workflow=&status=)")
def list_instances(engine: EngineDep, registry: RegistryDep, flows: FlowsDep, ctx: CtxDep, form: QueryName = None,
                   record_id: QueryId = None, workflow: QueryName = None, status: OptText = None,
                   limit: Limit = 100) -> list[dict[str, Any]]:
    by_record = bool(form) and record_id is not None
    if not by_record and not ctx.actor.is_admin:
        raise AccessDenied("按流程列出实例需要管理员权限；或按记录查询（form 与 record_id）",
                           "listing instances by workflow needs administrator rights; or ask by record (form and record_id)")
    q = sa.select(I)
    for col, v in ((I.c.form, form), (I.c.record_id, record_id), (I.c.workflow, workflow), (I.c.status, status)):
        if v is not None:
            q = q.where(col == v)
    with read_tx(engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=registry, flows=flows)
        if by_record and not ctx.actor.is_admin:
            S.get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)
        rows = conn.execute(q.order_by(I.c.id.desc()).limit(max(1, min(limit, 1000)))).mappings().all()
        return views.instance_views(rt, rows)   # an instance whose state cannot be read is flagged, not fatal


@router.get("/workflow-instances/{instance_id}", summary="An instance with its tasks and full timeline")
def get_instance(instance_id: PathId, engine: EngineDep, registry: RegistryDep, flows: FlowsDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=registry, flows=flows)
        inst = load_instance(rt, instance_id, lock=False)
        _may_see(rt, inst)
        return tasks.instance_view(rt, inst, full=True)


@router.post("/workflow-instances/{instance_id}/{action}",
             summary="withdraw | resubmit | remind (催办, initiator; once per approver an hour, else 429) | cancel (admin) | comment")
def instance_action(instance_id: PathId, action: PathName, engine: EngineDep, registry: RegistryDep, flows: FlowsDep, ctx: CtxDep,
                    body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    b = json_object(body)
    with write_tx(engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=registry, flows=flows)
        if action == "withdraw":
            return tasks.withdraw(rt, instance_id, b.get("comment"))
        if action == "resubmit":
            return tasks.resubmit(rt, instance_id, b.get("comment"))
        if action == "cancel":
            return tasks.cancel(rt, instance_id, b.get("comment"))
        if action == "remind":
            return reminders.remind(rt, instance_id)
        if action == "comment":
            inst = load_instance(rt, instance_id)
            _may_see(rt, inst)
            event(rt, inst, "comment", comment=b.get("comment"), data={"attachments": tasks.take_attachments(rt, b, inst)})
            return tasks.instance_view(rt, inst, full=True)
    raise NotFound(f"未知操作 {action}（withdraw、resubmit、remind、cancel、comment）",
                   f"unknown action {action} (withdraw, resubmit, remind, cancel, comment)")


# ---------------------------------------------------------------- records: transitions and timeline

@router.get("/records/{form}/{record_id:int}/transitions", tags=["records"], summary="State transitions I may perform now")
def transitions(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        compiled = registry.get(conn, form)
        doc = S.get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)
    sm = compiled.definition.state_machine
    if sm is None:
        return {"field": None, "state": None, "transitions": []}
    a = ctx.actor
    return {"field": sm.field, "state": doc.get(sm.field), "transitions": [
        {"key": t.key, "label": t.label, "to": t.target, "required": list(t.required)}
        for t in sm.transitions if doc.get(sm.field) in t.sources and t.allows(a.username, a.role_names, a.is_admin)]}


@router.post("/records/{form}/{record_id:int}/transitions/{key}", tags=["records"],
             summary="Perform a state transition; body may carry field values it requires")
def do_transition(form: PathName, record_id: PathId, key: PathName, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                  body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return S.update_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id,
                               patch=json_object(body), transition=key)


@router.get("/records/{form}/{record_id:int}/timeline", tags=["records"], summary="Changes and approval steps of a record, oldest first")
def timeline(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, flows: FlowsDep, ctx: CtxDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:   # each step with ``text``: what happened, in words (views.record_timeline)
        return views.record_timeline(Runtime(conn=conn, ctx=ctx, forms=registry, flows=flows), form, record_id)


@router.get("/records/{form}/{record_id:int}/standing", tags=["records"],
            summary="What I may do with this record now (save, delete, submit, resubmit) and its open request, with why it was returned")
def record_standing(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, flows: FlowsDep,
                    ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return standing.standing(Runtime(conn=conn, ctx=ctx, forms=registry, flows=flows), form, record_id)


# ---------------------------------------------------------------- rules, events, outbox, notifications

@router.put("/rules/{name}", summary="Publish an event rule (mom.rule/1)")
def put_rule(name: PathName, body: BodyDep, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, actor: AdminDep) -> dict[str, Any]:
    same_name(name, body)
    with write_tx(engine) as conn:
        return rules.apply_rule(conn, registry, body, now=ctx.now, tz=ctx.tz)


@router.get("/rules", summary="Event rules")
def list_rules(engine: EngineDep, actor: AdminDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return rules.rule_listing(conn)


@router.get("/rules/{name}", summary="An event rule's definition")
def get_rule(name: PathName, engine: EngineDep, actor: AdminDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        raw = conn.execute(sa.select(T.rule.c.definition).where(T.rule.c.name == name)).scalar()
    if raw is None:
        raise NotFound(f"规则 {name} 不存在", f"rule {name} does not exist")
    return raw


@router.post("/events/{name}", status_code=202, summary="Post an external event (connectors, devices); rules react")
def post_event(name: PathName, body: BodyDep, engine: EngineDep, ctx: CtxDep) -> dict[str, Any]:
    if not (ctx.actor.is_admin or "integration" in ctx.actor.role_names):
        raise AccessDenied("发布外部事件需要管理员或 integration 角色", "posting events needs an administrator or the integration role")
    if not rules.EXTERNAL_NAME.fullmatch(name):
        raise InvalidInput("事件名只能用小写字母、数字、下划线和点", "event names use lowercase letters, digits, _ and .")
    with write_tx(engine) as conn:
        return {"event_id": rules.post_external(conn, name, body, now=ctx.now)}


@router.get("/outbox", summary="Outbox events by status (dead = the dead-letter list) and counts")
def outbox_list(engine: EngineDep, actor: AdminDep, status: QueryText = "dead", limit: Limit = 100) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"stats": outbox.stats(conn), "items": outbox.listing(conn, status, limit)}


@router.post("/outbox/retry", summary="Retry dead events: body {ids: [...]} or {} for all")
def outbox_retry(engine: EngineDep, actor: AdminDep, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    ids = _ids(json_object(body).get("ids"), "ids")
    with write_tx(engine) as conn:
        return {"retried": outbox.retry(conn, ids or None, now=ctx.now)}


@router.get("/notifications", summary="My in-app notifications (?unread=1)")
def notifications(engine: EngineDep, ctx: CtxDep, unread: bool = False, limit: Limit = 50) -> dict[str, Any]:
    N = T.notification
    q = sa.select(N).where(N.c.user_id == ctx.actor.id)
    if unread:
        q = q.where(N.c.read_at.is_(None))
    with read_tx(engine) as conn:
        rows = conn.execute(q.order_by(N.c.id.desc()).limit(max(1, min(limit, 500)))).mappings().all()
        n_unread = conn.execute(sa.select(sa.func.count()).select_from(N).where(N.c.user_id == ctx.actor.id, N.c.read_at.is_(None))).scalar_one()
    return {"unread": int(n_unread), "items": [{**dict(r), "created_at": r["created_at"].isoformat(),
                                                 "read_at": r["read_at"].isoformat() if r["read_at"] else None} for r in rows]}


@router.post("/notifications/read", summary="Mark notifications read: body {ids: [...]} or {} for all")
def notifications_read(engine: EngineDep, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> dict[str, int]:
    N = T.notification
    ids = _ids(json_object(body).get("ids"), "ids")
    q = N.update().where(N.c.user_id == ctx.actor.id, N.c.read_at.is_(None))
    if ids:
        q = q.where(N.c.id.in_(ids))
    with write_tx(engine) as conn:
        return {"marked": int(conn.execute(q.values(read_at=ctx.now)).rowcount)}
