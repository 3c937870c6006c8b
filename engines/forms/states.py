"""Record state machines declared by a form (``state_machine``): the states are the options of a
select field; transitions say who may move a record from which states to which, under which
condition, which fields must be filled first and which fields are set on the way.

This module checks and compiles the declaration; ``mom.engines.workflow.hooks`` enforces it on every
write path (API, import, rules, UI)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mom.engines.definitions.expressions import expression_at
from mom.engines.expressions.sandbox import Expression
from mom.engines.forms.model import text_of
from mom.platform.errors import ProblemList, did_you_mean


@dataclass(frozen=True)
class Transition:
    key: str
    label: dict[str, str]
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    users: frozenset[str]
    when: Expression | None
    required: tuple[str, ...]
    set: Mapping[str, Expression]

    def allows(self, username: str, roles: frozenset[str], is_admin: bool) -> bool:
        if not self.roles and not self.users:
            return True
        return is_admin or username in self.users or bool(self.roles & roles)


@dataclass(frozen=True)
class StateMachine:
    field: str
    initial: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]

    def find(self, source: Any, target: Any, key: str | None = None) -> list[Transition]:
        return [t for t in self.transitions if source in t.sources and t.target == target and (key is None or t.key == key)]


def compile_state_machine(raw: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]], problems: ProblemList
                          ) -> StateMachine | None:
    """``fields`` maps main-form keys to their raw field definitions."""
    key = raw.get("field")
    f = fields.get(key) if isinstance(key, str) else None
    if f is None or f.get("type") != "select":
        problems.add("/state_machine/field", f"状态字段 {key} 必须是本表单的单选（select）字段{did_you_mean(str(key), set(fields))}",
                     f"the state field {key} must be a select field of this form{did_you_mean(str(key), set(fields))}", "state_field")
        return None
    states = tuple(o if isinstance(o, str) else o.get("value") for o in f.get("options") or [])

    def check_state(value: Any, path: str) -> None:
        if value not in states:
            problems.add(path, f"{value} 不是字段 {key} 的选项{did_you_mean(str(value), set(states))}",
                         f"{value} is not an option of {key}{did_you_mean(str(value), set(states))}", "unknown_state")

    check_state(raw.get("initial"), "/state_machine/initial")
    names = set(fields)
    out, seen = [], set()
    for i, t in enumerate(raw.get("transitions") or []):
        p = f"/state_machine/transitions/{i}"
        if t["key"] in seen:
            problems.add(f"{p}/key", f"转换 {t['key']} 重复", f"transition {t['key']} is declared twice", "duplicate")
        seen.add(t["key"])
        for j, s in enumerate(t["from"]):
            check_state(s, f"{p}/from/{j}")
        check_state(t["to"], f"{p}/to")
        for j, r in enumerate(t.get("required") or []):
            if r not in names:
                problems.add(f"{p}/required/{j}", f"未知字段 {r}{did_you_mean(r, names)}", f"unknown field {r}{did_you_mean(r, names)}", "unknown_field")
        sets: dict[str, Expression] = {}
        for k, src in (t.get("set") or {}).items():
            if k not in names or k == key:
                problems.add(f"{p}/set/{k}", f"不能设置字段 {k}", f"cannot set field {k}", "unknown_field")
                continue
            if (e := expression_at(src, names, f"{p}/set/{k}", problems)) is not None:
                sets[k] = e
        when = expression_at(t["when"], names, f"{p}/when", problems) if t.get("when") else None
        out.append(Transition(key=t["key"], label=text_of(t.get("label"), t["key"]), sources=frozenset(t["from"]),
                              target=t["to"], roles=frozenset(t.get("roles") or ()), users=frozenset(t.get("users") or ()),
                              when=when, required=tuple(t.get("required") or ()), set=sets))
    return StateMachine(field=key, initial=raw["initial"], states=states, transitions=tuple(out))
