"""A running (or ended) workflow instance as a typed object, and its stored state with a format version.

The ``wf_instance`` row holds the instance's identity (workflow name and version, the record it
approves, the initiator, timestamps, status) in columns and its progress in the JSON ``state``:

- ``tokens``: the nodes it waits at, each with the stack of parallel branches it is in
  (``[[parallel id, branch index], …]``, outermost first);
- ``joins``: per parallel block, the branches that reached its join;
- ``rounds``: how often each node was activated (its *round*; tasks carry it);
- ``return``: where to resume after a return (``target``, ``resume_at``, ``resume_stack``), or null.

Stored states carry ``"format": FORMAT``. States written before the key existed (issue 17) are
format 0: the same keys, any of them possibly missing. :func:`upgrade_state` brings an old state to
the current format in memory, one function per step (``UPGRADES``); the row is rewritten in the
current format the next time the instance is saved. Golden files of old states live in
``tests/golden/workflow_states``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mom.platform.errors import Conflict

#: The format of the ``state`` JSON this code writes.
FORMAT = 1

#: ``[[parallel id, branch index], …]``, outermost first (lists, as JSON gives them back).
Stack = list[list[Any]]


@dataclass
class Token:
    """A place the instance waits at: a node, inside the parallel branches of ``stack``."""
    node: str
    stack: Stack = field(default_factory=list)


@dataclass
class ReturnPoint:
    """After a return (退回) to ``target`` with ``resume: back``: where the flow comes back to."""
    target: str
    resume_at: str | None = None
    resume_stack: Stack = field(default_factory=list)


@dataclass
class InstanceState:
    """The instance's progress through its graph (the JSON ``state`` column)."""
    tokens: list[Token] = field(default_factory=list)
    joins: dict[str, list[int]] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    return_to: ReturnPoint | None = None

    @classmethod
    def from_json(cls, raw: Any, instance_id: int | None = None) -> InstanceState:
        """Read a stored state of any known format (upgraded in memory first). A state this code cannot
        read is a :class:`BadState` (a Conflict naming ``instance_id`` and what is wrong)."""
        s = upgrade_state(raw, instance_id)
        try:
            return cls._read(s)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadState(instance_id, f"形状不对（{exc}）", f"it has the wrong shape ({exc})") from None

    @classmethod
    def _read(cls, s: Mapping[str, Any]) -> InstanceState:
        tokens, joins, rounds, ret = s["tokens"], s["joins"], s["rounds"], s["return"]
        if not isinstance(tokens, list) or not all(isinstance(t, dict) and isinstance(t.get("node"), str) for t in tokens):
            raise ValueError("tokens must be a list of objects with a node id")
        if not isinstance(joins, dict) or not isinstance(rounds, dict):
            raise ValueError("joins and rounds must be objects")
        if ret is not None and not (isinstance(ret, dict) and isinstance(ret.get("target"), str)):
            raise ValueError("return must be null or an object with a target")
        return cls(tokens=[Token(node=t["node"], stack=_stack(t.get("stack"))) for t in tokens],
                   joins={k: [int(b) for b in v] for k, v in joins.items()},
                   rounds={k: _int(v, "rounds") for k, v in rounds.items()},
                   return_to=None if not ret else ReturnPoint(target=ret["target"], resume_at=ret.get("resume_at"),
                                                              resume_stack=_stack(ret.get("resume_stack"))))

    def to_json(self) -> dict[str, Any]:
        """The state as stored, in the current format."""
        ret = self.return_to
        return {"format": FORMAT, "tokens": [{"node": t.node, "stack": [list(p) for p in t.stack]} for t in self.tokens],
                "joins": {k: list(v) for k, v in self.joins.items()}, "rounds": dict(self.rounds),
                "return": None if ret is None else {"target": ret.target, "resume_at": ret.resume_at,
                                                    "resume_stack": [list(p) for p in ret.resume_stack]}}

    def next_round(self, node_id: str) -> int:
        """Count one more activation of ``node_id``; returns its new round."""
        rnd = int(self.rounds.get(node_id, 0)) + 1
        self.rounds[node_id] = rnd
        return rnd

    def clear(self) -> None:
        """No token waits anywhere and no branch is waiting at a join (the flow ended or went back)."""
        self.tokens, self.joins = [], {}


def _from_0(state: dict[str, Any]) -> dict[str, Any]:
    """Format 0 (no ``format`` key, before issue 17) -> 1: every key present; no change of meaning."""
    return {"format": 1, "tokens": list(state.get("tokens") or []), "joins": dict(state.get("joins") or {}),
            "rounds": dict(state.get("rounds") or {}), "return": state.get("return")}


#: One function per format step: ``UPGRADES[n]`` turns a format-n state into format n+1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_0}


class BadState(Conflict):
    """A stored instance state this code cannot read: names the instance and what is wrong with it."""

    def __init__(self, instance_id: int | None, zh: str, en: str) -> None:
        who_zh = f"流程实例 {instance_id}" if instance_id is not None else "流程实例"
        who_en = f"workflow instance {instance_id}" if instance_id is not None else "a workflow instance"
        super().__init__(f"{who_zh} 的状态无法读取：{zh}", f"the state of {who_en} cannot be read: {en}",
                         detail={"instance_id": instance_id})
        self.instance_id = instance_id


def _int(v: Any, what: str) -> int:
    """An integer of a stored state (JSON numbers with a fraction and booleans are not)."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{what}: {v!r} is not an integer")
    return v


def _stack(v: Any) -> Stack:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
        raise ValueError(f"stack {v!r} is not a list of [parallel id, branch] pairs")
    return [list(p) for p in v]


def upgrade_state(raw: Any, instance_id: int | None = None) -> dict[str, Any]:
    """A stored state (``None`` for an empty one) brought to the current :data:`FORMAT` in memory.
    Anything this code cannot read is a :class:`BadState` naming ``instance_id``."""
    if raw is not None and not isinstance(raw, Mapping):
        raise BadState(instance_id, f"应为 JSON 对象，实为 {type(raw).__name__}", f"expected a JSON object, got {type(raw).__name__}")
    state = dict(raw or {})
    version = state.get("format", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise BadState(instance_id, f"格式 {version!r} 不是非负整数", f"format {version!r} is not a non-negative integer")
    if version > FORMAT:
        raise BadState(instance_id, f"格式 {version} 比本程序支持的 {FORMAT} 新；请升级平台后再处理",
                       f"format {version} is newer than this code's ({FORMAT}); upgrade the platform first")
    while version < FORMAT:
        step = UPGRADES.get(version)
        if step is None:
            raise BadState(instance_id, f"未知的格式 {version}", f"unknown format {version}")
        try:
            state = step(state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadState(instance_id, f"无法从格式 {version} 升级（{exc}）", f"it cannot be upgraded from format {version} ({exc})") from None
        version = int(state["format"])
    return state


@dataclass
class WorkflowInstance:
    """One instance of a workflow version on one record (a ``wf_instance`` row, typed)."""
    id: int
    workflow: str
    version: int
    form: str
    record_id: int
    status: str                       # running | returned | approved | rejected | withdrawn | cancelled
    initiator_id: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    row_version: int = 1
    state: InstanceState = field(default_factory=InstanceState)
    chosen: dict[str, list[int]] = field(default_factory=dict)   # 发起人自选: user ids per node id
    parent_task_id: int | None = None     # a sub-process: the parent flow's task waiting for it
    revokes_id: int | None = None         # a revoke flow: the approved instance it revokes

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkflowInstance:
        """The instance of a ``wf_instance`` row (its state upgraded from any older format)."""
        return cls(id=int(row["id"]), workflow=row["workflow"], version=int(row["version"]), form=row["form"],
                   record_id=int(row["record_id"]), status=row["status"], initiator_id=row["initiator_id"],
                   started_at=row["started_at"], ended_at=row.get("ended_at"), row_version=int(row["row_version"]),
                   state=InstanceState.from_json(row.get("state"), int(row["id"])),
                   chosen={str(k): [int(u) for u in v] for k, v in (row.get("chosen") or {}).items()},
                   parent_task_id=row.get("parent_task_id"), revokes_id=row.get("revokes_id"))

    def to_state(self) -> dict[str, Any]:
        """The JSON ``state`` column as this code stores it."""
        return self.state.to_json()

    @property
    def active(self) -> bool:
        """Running or returned to the initiator: not ended."""
        return self.status in ("running", "returned")
