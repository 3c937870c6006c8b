"""The path a record's current values take through a flow, before it is submitted (as DingTalk shows
the predicted approvers while the form is filled in).

The walk starts at the flow's first node and decides each condition node with the flow's own
evaluator on the record's stored values and the submitter's names (as the running flow would). A
condition that cannot be decided yet — it reads a field that a node before it may change (an approval
node's ``editable_fields``, an action node's ``set_fields``), or it fails on the values as they are
(an empty field) — leaves its branches possible: the nodes beyond it are ``maybe``, not ``certain``.
Parallel blocks take every branch. Used by 发起人自选 (:mod:`choice`): only the chooser nodes on the
path are offered, and a choice is required only for those the record certainly reaches.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mom.engines.expressions.sandbox import Expression, ExpressionError
from mom.engines.workflow.spec import END, NodeSpec, WorkflowSpec

CERTAIN, MAYBE = "certain", "maybe"
#: Every field may have changed (an action or a plug-in node whose effect on the record is not known).
ANY_FIELD = "*"
#: Walk steps at most; past them every chooser node not yet found counts as ``maybe`` (a pathological flow).
MAX_STEPS = 20_000
#: Action types that never change the record the flow runs on.
_HARMLESS_ACTIONS = frozenset({"create_record", "start_workflow", "webhook", "emit", "notify"})


@dataclass
class _Walk:
    spec: WorkflowSpec
    names: Mapping[str, Any]
    now: dt.datetime | None
    reached: dict[str, str] = field(default_factory=dict)
    memo: dict[tuple[str, bool, frozenset[str]], frozenset[str]] = field(default_factory=dict)
    steps: int = 0
    exhausted: bool = False

    def mark(self, node_id: str, certain: bool) -> None:
        if certain or self.reached.get(node_id) != CERTAIN:
            self.reached[node_id] = CERTAIN if certain else MAYBE

    def decide(self, expr: Expression, changed: frozenset[str]) -> bool | None:
        """The condition's value now, or None when it cannot be known before the flow gets there."""
        if ANY_FIELD in changed or expr.names & changed:
            return None
        try:
            return bool(expr.evaluate(self.names, now=self.now))
        except ExpressionError:
            return None

    def walk(self, target: str, certain: bool, changed: frozenset[str]) -> frozenset[str]:
        """Follow the flow from ``target``; answers the fields changed on arrival at a parallel join (the
        caller, the parallel node, goes on from there)."""
        key = (target, certain, changed)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = frozenset()          # a loop (none in a valid flow) ends here
        out = self._walk(target, certain, changed)
        self.memo[key] = out
        return out

    def _walk(self, target: str, certain: bool, changed: frozenset[str]) -> frozenset[str]:
        joined: frozenset[str] = frozenset()
        while True:
            self.steps += 1
            if self.steps > MAX_STEPS:
                self.exhausted = True
                return joined
            if target == END:
                return joined
            if target.startswith("join:"):
                return joined | changed
            node = self.spec.nodes.get(target)
            if node is None:
                return joined
            step = self._node(node, certain, changed)
            if step is None:
                return joined
            target, changed, more = step
            joined |= more

    def _node(self, node: NodeSpec, certain: bool, changed: frozenset[str]
              ) -> tuple[str, frozenset[str], frozenset[str]] | None:
        """Where the walk goes after ``node``: (next target, fields changed so far, join arrivals), or None."""
        kind = node.type
        if kind == "end":
            return None
        if kind == "condition":
            return self._condition(node, certain, changed)
        if kind == "parallel":
            acc = set(changed)
            for b in node.branches:
                acc |= self.walk(b.first, certain, changed)
            return node.next, frozenset(acc), frozenset()
        if node.handler is not None and node.handler.waits:
            self.mark(node.id, certain)
            return node.next, changed | node.editable_fields, frozenset()
        if kind == "action":
            return node.next, changed | _changed_by_actions(node, self.spec.form), frozenset()
        if kind == "cc":
            return node.next, changed, frozenset()
        for b in node.branches:       # a plug-in kind with branches: any of them may run
            self.walk(b.first, False, changed | {ANY_FIELD})
        return node.next, changed | {ANY_FIELD}, frozenset()

    def _condition(self, node: NodeSpec, certain: bool, changed: frozenset[str]
                   ) -> tuple[str, frozenset[str], frozenset[str]] | None:
        """The first branch that holds is taken; an undecided one before it makes the rest ``maybe``."""
        joined: frozenset[str] = frozenset()
        sure = certain
        for b in node.branches:
            value = True if b.when is None else self.decide(b.when, changed)
            if value is False:
                continue
            if value is True:
                if sure:
                    return b.first, changed, joined
                joined |= self.walk(b.first, False, changed)
                return None
            joined |= self.walk(b.first, False, changed)
            sure = False
        return None


def _changed_by_actions(node: NodeSpec, form: str) -> frozenset[str]:
    out: set[str] = set()
    for a in node.actions:
        if a.type == "set_fields":
            out |= set((a.raw.get("values") or {}).keys())
        elif a.type == "update_record" and a.raw.get("form") != form:
            continue
        elif a.type not in _HARMLESS_ACTIONS:
            out.add(ANY_FIELD)
    return frozenset(out)


def predicted_nodes(spec: WorkflowSpec, names: Mapping[str, Any], *, now: dt.datetime | None = None) -> dict[str, str]:
    """The waiting nodes (approval and plug-in kinds that wait) a record with ``names`` (its values and
    the submitter's, see ``runtime.expression_names``) reaches: node id -> ``certain`` or ``maybe``.
    A node not in the answer is not on the record's path."""
    w = _Walk(spec=spec, names=names, now=now)
    w.walk(spec.first, True, frozenset())
    if w.exhausted:
        for n in spec.nodes.values():
            if n.handler is not None and n.handler.waits and n.id not in w.reached:
                w.reached[n.id] = MAYBE
    return w.reached
