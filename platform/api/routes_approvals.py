"""Approval features beyond the task actions: 发起人自选 choices of a flow, what a task allows
(return targets, required comment, signature), 撤销 of an approved request, out-of-office proxies
(代理人) and handing a leaver's open tasks to someone else (离职交接)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from mom.engines.records.service import get_record
from mom.engines.workflow import choice, linked, options, proxy, tasks
from mom.engines.workflow.runtime import Runtime, record_path
from mom.platform.api.deps import AdminDep, CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.api.params import PathId, PathName, json_object
from mom.platform.db.engine import read_tx, write_tx

router = APIRouter(prefix="/api", tags=["workflows"], responses=ERRORS)
BodyDep = Annotated[Any, Body()]


@router.get("/workflows/{name}/choices", summary="发起人自选: the nodes whose approvers the submitter chooses, with candidates")
def flow_choices(name: PathName, request: Request, ctx: CtxDep,
                 q: Annotated[str | None, Query(max_length=50, description="找人：姓名或账号的一部分 / part of a name")] = None,
                 node: Annotated[str | None, Query(max_length=64, description="只要这个节点 / only this node")] = None,
                 record_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="只列出这条记录会经过的节点 / only the nodes this record's path reaches")] = None,
                 ) -> list[dict[str, Any]]:
    state = request.app.state
    with read_tx(state.engine) as conn:
        spec, _ = state.flows.current(conn, name)
        path = None
        if record_id is not None:   # the caller must be able to read the record (403 / 404 as for the record itself)
            get_record(conn=conn, registry=state.registry, ctx=ctx, form=spec.form, record_id=record_id)
            path = record_path(Runtime(conn=conn, ctx=ctx, forms=state.registry, flows=state.flows), spec, record_id)
        return choice.choices(conn, spec, exclude=ctx.actor.id, q=q, node_id=node, path=path)


@router.get("/tasks/{task_id}/options", summary="What a task of mine allows: return targets, required comments, signature")
def task_options(task_id: PathId, request: Request, ctx: CtxDep) -> dict[str, Any]:
    state = request.app.state
    with read_tx(state.engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=state.registry, flows=state.flows)
        return options.task_options(rt, task_id)


@router.post("/workflow-instances/{instance_id}/revoke", status_code=201,
             summary="撤销: start the flow's revoke flow on an approved request {comment?, approvers?}")
def revoke_instance(instance_id: PathId, request: Request, ctx: CtxDep, body: BodyDep = None) -> dict[str, Any]:
    state, b = request.app.state, json_object(body)
    with write_tx(state.engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=state.registry, flows=state.flows)
        new = linked.revoke(rt, instance_id, b.get("comment"), b.get("approvers"))
        return tasks.instance_view(rt, new, full=True)


@router.get("/workflow-proxies", summary="代理人: my current and future proxy periods (?all=1: everyone's, administrators)")
def list_proxies(engine: EngineDep, ctx: CtxDep, all: bool = False) -> list[dict[str, Any]]:  # noqa: A002
    with read_tx(engine) as conn:
        return proxy.listing(conn, ctx.actor, everyone=all, now=ctx.now)


@router.post("/workflow-proxies", status_code=201, summary="代理人: {proxy, starts_at?, ends_at, user? (administrators)}")
def add_proxy(engine: EngineDep, ctx: CtxDep, body: BodyDep = None) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return proxy.set_proxy(conn, ctx.actor, json_object(body), now=ctx.now, tz=ctx.tz)


@router.delete("/workflow-proxies/{proxy_id}", status_code=204, summary="Remove a proxy period (its user or an administrator)")
def remove_proxy(proxy_id: PathId, engine: EngineDep, ctx: CtxDep) -> None:
    with write_tx(engine) as conn:
        proxy.delete_proxy(conn, ctx.actor, proxy_id)


@router.post("/admin/workflow-handover", summary="离职交接: every open task of {from} goes to {to} (administrators)")
def handover(engine: EngineDep, registry: RegistryDep, request: Request, ctx: CtxDep, actor: AdminDep,
             body: BodyDep = None) -> dict[str, Any]:
    b = json_object(body)
    with write_tx(engine) as conn:
        rt = Runtime(conn=conn, ctx=ctx, forms=registry, flows=request.app.state.flows)
        return proxy.handover(rt, b.get("from"), b.get("to"), b.get("comment"))
