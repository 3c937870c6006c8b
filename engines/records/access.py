"""Per-form permissions for one actor, decided on the server and compiled into SQL.

A definition's ``permissions`` list grants actions to roles (``"*"`` = every signed-in user), with a
row scope (own / department / all / expression) and field rules (hidden / read_only). Several
entries combine as a union: an action is allowed if any entry grants it; its row scope is the OR of
the granting entries' scopes; a field is hidden only if every entry granting read hides it.
Without a ``permissions`` list only administrators may use a form.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.scope import compile_scope
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Actor
from mom.platform.errors import AccessDenied

ACTIONS = ("create", "read", "update", "delete", "export", "import", "design")
_ACTION_ZH = {"create": "新建", "read": "查看", "update": "修改", "delete": "删除", "export": "导出", "import": "导入", "design": "设计"}


@dataclass(frozen=True)
class FormAccess:
    form: str
    actions: frozenset[str]
    scopes: Mapping[str, Any]          # action -> SQL clause, or None for all rows
    hidden: frozenset[str]
    read_only: frozenset[str]

    def can(self, action: str) -> bool:
        return action in self.actions

    def require(self, action: str) -> None:
        if action not in self.actions:
            raise AccessDenied(f"没有{_ACTION_ZH.get(action, action)}表单 {self.form} 的权限",
                               f"you may not {action} records of form {self.form}")

    def scope(self, action: str) -> Any:
        return self.scopes.get(action)

    def visible(self, key: str) -> bool:
        return key not in self.hidden


def granting_entries(permissions: Any, actor: Actor) -> list[dict[str, Any]]:
    """The ``permissions`` entries that apply to ``actor``: role ``"*"`` or one of the actor's roles
    (items that are not objects, as in a stored definition that cannot be compiled, are skipped)."""
    return [p for p in permissions or []
            if isinstance(p, dict) and (p.get("role") == "*" or p.get("role") in actor.role_names)]


def form_access(compiled: CompiledForm, actor: Actor) -> FormAccess:
    name = compiled.name
    if actor.is_admin:
        return FormAccess(name, frozenset(ACTIONS), {}, frozenset(), frozenset())
    entries = granting_entries(compiled.definition.permissions, actor)
    actions: set[str] = set()
    scopes: dict[str, Any] = {}
    unrestricted: set[str] = set()
    hidden_sets: list[set[str]] = []
    ro_sets: list[set[str]] = []
    for p in entries:
        clause = _scope_clause(compiled, p.get("scope", "all"), actor)
        for a in p.get("actions", []):
            actions.add(a)
            if clause is None:
                unrestricted.add(a)
            elif a not in unrestricted:
                scopes[a] = clause if a not in scopes else sa.or_(scopes[a], clause)
        rules = p.get("fields") or {}
        if "read" in p.get("actions", []):
            hidden_sets.append({k for k, v in rules.items() if v == "hidden"})
        if "update" in p.get("actions", []) or "create" in p.get("actions", []):
            ro_sets.append({k for k, v in rules.items() if v in ("read_only", "hidden")})
    for a in unrestricted:
        scopes.pop(a, None)
    for a in actions - unrestricted - set(scopes):
        scopes[a] = sa.false()
    hidden = set.intersection(*hidden_sets) if hidden_sets else set()
    read_only = (set.intersection(*ro_sets) if ro_sets else set()) | hidden
    return FormAccess(name, frozenset(actions), scopes, frozenset(hidden), frozenset(read_only))


def record_readable(conn: Connection, forms: Any, actor: Actor, form: str, record_id: int, field: str = "") -> bool:
    """Whether ``actor`` may read record ``record_id`` of ``form`` (not deleted, in their row scope) and
    see ``field`` ("key" or "table.key"; a field removed since counts as not seen)."""
    compiled = forms.get(conn, form)
    access = form_access(compiled, actor)
    if not access.can("read") or any(part and not access.visible(part) for part in field.split(".")):
        return False
    if field:                  # a field purged or removed since: its files no longer belong to the record
        top, _, sub = field.partition(".")
        f = compiled.definition.field(top)
        if f is None or (sub and f.child(sub) is None):
            return False
    t = compiled.main
    q = sa.select(t.c.id).where(t.c.id == record_id, t.c.deleted_at.is_(None))
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    return conn.execute(q).first() is not None


def _scope_clause(compiled: CompiledForm, scope: Any, actor: Actor) -> Any:
    t = compiled.main
    if scope in (None, "all"):
        return None
    if scope == "own":
        return t.c.created_by == actor.id
    if scope == "department":
        ids = list(actor.department_ids)
        return t.c.department_id.in_(ids) if ids else sa.false()
    if isinstance(scope, Mapping) and "expr" in scope:
        return compile_scope(scope["expr"], lambda k: t.c[k] if k in t.c else None, actor.scope_vars)
    return sa.false()
