"""A node kind and an action type of a plug-in: registered on a fresh plug-in manager, published and run
like the built-ins (which come through the same hooks), and unknown to a manager without the plug-in."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.records.context import Ctx, load_actor
from mom.engines.workflow import store, tasks
from mom.engines.workflow import runtime as R
from mom.engines.workflow.actions import ActionRun, ActionType
from mom.engines.workflow.nodes import NodeHandler, Step
from mom.engines.workflow.spec import ActionSpec, NodeCompiler, NodeSpec, WorkflowSpec, validate_workflow
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.errors import InvalidInput
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager
from tests.integration.wf_helpers import Plant


class StampNode(NodeHandler):
    """A throw-away kind: writes a timeline line with its ``note`` and goes on."""
    kind = "stamp"
    properties = {"note": {"type": "string", "maxLength": 50}}

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        if not raw.get("note"):
            c.problems.add(f"{path}/note", "盖章节点需要 note", "a stamp node needs note", "required")
        return {"extra": {"note": raw.get("note")}}

    def enter(self, rt: R.Runtime, inst: Any, spec: WorkflowSpec, node: NodeSpec, stack: list[list[Any]]) -> Step | None:
        R.event(rt, inst, "stamped", node_id=node.id, data={"note": node.extra["note"]}, actor_id=None)
        return node.next, stack


class Shout(ActionType):
    """A throw-away action type: a timeline line with its ``word``."""
    type, needs = "shout", ("word",)
    properties = {"word": {"type": "string"}}

    def run(self, rt: R.Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        R.event(rt, run.instance, "shouted", data={"word": a.raw["word"]}, actor_id=None)
        return {"type": self.type, "word": a.raw["word"]}


@hookimpl
def mom_workflow_node_kinds() -> Iterable[NodeHandler]:
    return [StampNode()]


@hookimpl
def mom_actions() -> Iterable[ActionType]:
    return [Shout()]


FLOW = {"format": "mom.workflow/1", "name": "ncr_stamped", "form": "ncr",
        "nodes": [{"id": "stamp", "type": "stamp", "note": "收到"},
                  {"id": "tell", "type": "action", "actions": [{"type": "shout", "word": "hello"}]},
                  {"id": "review", "type": "approval", "assignees": [{"type": "user", "users": ["qe1"]}]}]}


def _rt(conn: sa.Connection, plant: Plant, flows: WorkflowRegistry, user: str) -> R.Runtime:
    uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == user)).scalar_one()
    ctx = Ctx(actor=load_actor(conn, uid), now=dt.datetime.now(dt.timezone.utc))
    return R.Runtime(conn=conn, ctx=ctx, forms=plant.client.app.state.registry, flows=flows)


def test_a_plugin_node_kind_and_action_type_run_like_the_built_ins(plant: Plant, engine: sa.engine.Engine) -> None:
    pm = new_manager(entry_points=False)
    pm.register(sys.modules[__name__], name="throw_away")
    # without the plug-in the kinds are unknown, with the schema's usual message and path
    with pytest.raises(InvalidInput) as err:
        validate_workflow(FLOW)
    assert {p.path for p in err.value.problems} >= {"/nodes/0/type", "/nodes/0/note"}
    rec = plant.ncr()     # before the flow exists: the app's own registry (without the plug-in) checks record writes
    flows = WorkflowRegistry(plugins=pm)
    with write_tx(engine) as conn:
        assert store.apply(conn, plant.client.app.state.registry, FLOW, plugins=pm)["changed"]
    with write_tx(engine) as conn:
        inst = R.start(_rt(conn, plant, flows, "qc1"), "ncr_stamped", rec["id"])
    assert [t.node for t in inst.state.tokens] == ["review"]
    with write_tx(engine) as conn:
        task = conn.execute(sa.select(T.wf_task.c.id).where(T.wf_task.c.instance_id == inst.id)).scalar_one()
        out = tasks.act(_rt(conn, plant, flows, "qe1"), task, "approve", {})
    assert out["instance"]["status"] == "approved"
    with engine.connect() as conn:
        lines = conn.execute(sa.select(T.wf_event.c.action, T.wf_event.c.data).where(T.wf_event.c.instance_id == inst.id)
                             .order_by(T.wf_event.c.id)).all()
    actions = [a for a, _ in lines]
    assert actions[:4] == ["start", "stamped", "shouted", "actions"] and actions[-1] == "finished"
    assert lines[1][1] == {"note": "收到"} and lines[2][1] == {"word": "hello"}


def test_a_plugin_kind_needs_its_own_fields() -> None:
    pm = new_manager(entry_points=False)
    pm.register(sys.modules[__name__], name="throw_away")
    bad = {**FLOW, "nodes": [{"id": "stamp", "type": "stamp"}, *FLOW["nodes"][1:]]}
    with pytest.raises(InvalidInput) as err:
        validate_workflow(bad, plugins=pm)
    assert [p.path for p in err.value.problems] == ["/nodes/0/note"]
