"""Plug-ins and the workflow engine: a manager given to the composition root reaches the workflow
registry; notify channels are the registered delivery channels; a plug-in's node kind or action
type raising is a bilingual message naming it and the workflow, never a 500."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.records.context import Ctx, load_actor
from mom.engines.workflow import store
from mom.engines.workflow import runtime as R
from mom.engines.workflow.actions import ActionRun, ActionType
from mom.engines.workflow.nodes import NodeHandler, Step
from mom.engines.workflow.pluginguard import PluginStepFailed
from mom.engines.workflow.rules import validate_rule
from mom.engines.workflow.spec import ActionSpec, NodeCompiler, NodeSpec, WorkflowSpec, validate_workflow
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform.composition import form_registry
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.delivery import DeliveryChannel
from mom.platform.errors import InvalidInput
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant


class BoomNode(NodeHandler):
    """A kind whose code fails when a token reaches it (``compile_fails``: already when published)."""
    kind = "boom"
    properties = {"compile_fails": {"type": "boolean"}}

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        if raw.get("compile_fails"):
            raise RuntimeError("compile bug")
        return {}

    def enter(self, rt: R.Runtime, inst: Any, spec: WorkflowSpec, node: NodeSpec, stack: list[list[Any]]) -> Step | None:
        raise ZeroDivisionError("enter bug")


class Crash(ActionType):
    type, needs = "crash", ()

    def run(self, rt: R.Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        raise KeyError("run bug")


@hookimpl
def mom_workflow_node_kinds() -> Iterable[NodeHandler]:
    return [BoomNode()]


@hookimpl
def mom_actions() -> Iterable[ActionType]:
    return [Crash()]


@hookimpl
def mom_delivery_channels() -> list[DeliveryChannel]:
    return [DeliveryChannel(key="sms", label={"zh-CN": "短信", "en": "SMS"}, send=lambda ctx, payload, did: None)]


REVIEW = {"id": "review", "type": "approval", "assignees": [{"type": "user", "users": ["qe1"]}]}


def _pm() -> Any:
    pm = new_manager(entry_points=False)
    pm.register(sys.modules[__name__], name="guards_plugin")
    return pm


def _flow(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": "mom.workflow/1", "name": name, "form": "ncr", "nodes": [*nodes, REVIEW]}


def _start(plant: Plant, engine: sa.engine.Engine, pm: Any, flow: dict[str, Any]) -> Any:
    rec = plant.ncr()
    with write_tx(engine) as conn:
        store.apply(conn, plant.client.app.state.registry, flow, plugins=pm)
    with write_tx(engine) as conn:
        uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == "qc1")).scalar_one()
        rt = R.Runtime(conn=conn, ctx=Ctx(actor=load_actor(conn, uid), now=dt.datetime.now(dt.timezone.utc)),
                       forms=plant.client.app.state.registry, flows=WorkflowRegistry(plugins=pm))
        return R.start(rt, flow["name"], rec["id"])


def test_the_composition_root_hands_its_manager_to_the_workflow_registry(engine: sa.engine.Engine, settings: Any) -> None:
    pm = _pm()
    assert form_registry(pm=pm).hooks.flows.plugins is pm
    assert Worker(engine, settings, plugins=pm).flows.plugins is pm


def test_notify_channels_are_the_registered_delivery_channels() -> None:
    flow = _flow("ncr_sms", {"id": "tell", "type": "action", "actions": [
        {"type": "notify", "to": [{"type": "initiator"}], "title": "t", "channels": ["inbox", "sms"]}]})
    with pytest.raises(InvalidInput) as err:          # without the plug-in: not a channel
        validate_workflow(flow)
    assert [p.path for p in err.value.problems] == ["/nodes/0/actions/0/channels/1"]
    validate_workflow(flow, plugins=_pm())
    for ch in ("email", "dingtalk", "wecom"):         # the built-in ones stay accepted
        validate_workflow({**flow, "nodes": [{**flow["nodes"][0], "actions": [{**flow["nodes"][0]["actions"][0], "channels": [ch]}]},
                                             REVIEW]}, plugins=_pm())
    with pytest.raises(InvalidInput):                 # the webhook channel carries the webhook action, not notices
        validate_workflow({**flow, "nodes": [{**flow["nodes"][0], "actions": [{**flow["nodes"][0]["actions"][0],
                                                                              "channels": ["webhook"]}]}, REVIEW]}, plugins=_pm())
    rule = {"format": "mom.rule/1", "name": "tell_sms", "on": {"event": "external", "name": "x"},
            "actions": [{"type": "notify", "to": [{"type": "user", "users": ["qe1"]}], "title": "t", "channels": ["sms"]}]}
    with pytest.raises(InvalidInput):
        validate_rule(rule)
    validate_rule(rule, plugins=_pm())


def test_a_plugin_node_kind_failing_names_the_node_and_the_workflow(plant: Plant, engine: sa.engine.Engine) -> None:
    with pytest.raises(PluginStepFailed) as err:
        _start(plant, engine, _pm(), _flow("ncr_boom", {"id": "bang", "type": "boom"}))
    e = err.value
    assert e.code == "invalid_input" and "ncr_boom" in e.zh and "bang" in e.zh and "ZeroDivisionError" in e.zh
    assert "node bang (kind boom) of workflow ncr_boom" in e.en and "plug-in" in e.en


def test_a_plugin_action_failing_names_the_action_and_the_workflow(plant: Plant, engine: sa.engine.Engine) -> None:
    with pytest.raises(PluginStepFailed) as err:
        _start(plant, engine, _pm(), _flow("ncr_crash", {"id": "tell", "type": "action", "actions": [{"type": "crash"}]}))
    e = err.value
    assert "动作 crash" in e.zh and "ncr_crash/tell" in e.zh and "action crash at ncr_crash/tell/actions/0" in e.en


def test_a_plugin_node_kind_failing_its_check_is_a_problem_at_the_node() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_workflow(_flow("ncr_bad", {"id": "bang", "type": "boom", "compile_fails": True}), plugins=_pm())
    p = err.value.problems[0]
    assert p.path == "/nodes/0" and "RuntimeError: compile bug" in p.en and "boom" in p.zh
