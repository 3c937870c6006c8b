"""Per-form permissions for one actor, decided on the server and compiled into SQL.

A definition's ``permissions`` list grants actions to roles (``"*"`` = every signed-in user), with a
row scope (own / department / all / expression) and field rules (hidden / read_only). Several
entries combine as a union: an action is allowed if any entry grants it; its row scope is the OR of
the granting entries' scopes; a field is hidden only if every entry granting read hides it.
Without a ``permissions`` list only administrators may use a form (a new form published through the API
without one gets a default: mom.platform.auth.grants).

Whoever holds or held a workflow task on a record may read that record whatever the form's read right,
and the approvers of its current node may change it (the approval lock keeps them to the node's
``editable_fields``): :func:`record_row`. A refusal is 403 "无权限…", never "不存在".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.scope import compile_scope
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import text_of
from mom.engines.records.context import Actor
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, NotFound

ACTIONS = ("create", "read", "update", "delete", "export", "import", "design")
_ACTION_ZH = {"create": "新建", "read": "查看", "update": "修改", "delete": "删除", "export": "导出", "import": "导入", "design": "设计"}


@dataclass(frozen=True)
class FormAccess:
    form: str
    actions: frozenset[str]
    scopes: Mapping[str, Any]          # action -> SQL clause, or None for all rows
    hidden: frozenset[str]
    read_only: frozenset[str]
    label: Mapping[str, str] | None = None    # the form's name as people read it, for refusals

    def can(self, action: str) -> bool:
        return action in self.actions

    def require(self, action: str) -> None:
        if action not in self.actions:
            raise refusal(self.form, self.label, action)

    def scope(self, action: str) -> Any:
        return self.scopes.get(action)

    def visible(self, key: str) -> bool:
        return key not in self.hidden


def refusal(form: str, label: Mapping[str, str] | None, action: str, record_id: int | None = None) -> AccessDenied:
    """The 403 a user gets for ``action`` on a form (or one of its records): "无权限…", with the form's
    name as people read it and what to do."""
    text = label or text_of(None, form)
    what = f"「{text['zh-CN']}」的记录" + (f"（编号 {record_id}）" if record_id is not None else "")
    what_en = f"records of “{text['en']}”" + (f" (record {record_id})" if record_id is not None else "")
    return AccessDenied(f"无权限{_ACTION_ZH.get(action, action)}{what}：如需要，请联系表单的管理员为你开通",
                        f"no permission to {action} {what_en}: ask the form's administrator if you need it",
                        detail={"form": form, "action": action})


def granting_entries(permissions: Any, actor: Actor) -> list[dict[str, Any]]:
    """The ``permissions`` entries that apply to ``actor``: role ``"*"``, one of the actor's roles, or the
    actor's department or one above it (items that are not objects, as in a stored definition that cannot
    be compiled, are skipped)."""
    return [p for p in permissions or []
            if isinstance(p, dict) and (p.get("role") == "*" or p.get("role") in actor.role_names
                                        or p.get("department") in actor.department_codes)]


#: actors whose access to one form version is kept (a plant's people; past it the memo starts again)
_KEPT_ACTORS = 512


def form_access(compiled: CompiledForm, actor: Actor) -> FormAccess:
    """What ``actor`` may do with records of ``compiled``: decided once per actor and published version
    (both immutable: a changed role, department or permission is a new Actor or a new version)."""
    kept = compiled.memo.get("form_access")
    if kept is None:
        kept = compiled.memo.setdefault("form_access", {})
    got = kept.get(actor)
    if got is None:
        if len(kept) >= _KEPT_ACTORS:
            kept.clear()
        got = kept[actor] = _decide(compiled, actor)
    return got


def _decide(compiled: CompiledForm, actor: Actor) -> FormAccess:
    name = compiled.name
    label = text_of(compiled.definition.label, name)
    if actor.is_admin:
        return FormAccess(name, frozenset(ACTIONS), {}, frozenset(), frozenset(), label)
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
    return FormAccess(name, frozenset(actions), scopes, frozenset(hidden), frozenset(read_only), label)


def record_readable(conn: Connection, forms: Any, actor: Actor, form: str, record_id: int, field: str = "") -> bool:
    """Whether ``actor`` may read record ``record_id`` of ``form`` (not deleted, in their row scope or
    through a workflow task on it) and see ``field`` ("key" or "table.key"; a field removed since counts
    as not seen)."""
    compiled = forms.get(conn, form)
    if field:                  # a field purged or removed since: its files no longer belong to the record
        top, _, sub = field.partition(".")
        f = compiled.definition.field(top)
        if f is None or (sub and f.child(sub) is None):
            return False
    try:
        access, _ = record_row(conn, compiled, actor, record_id, "read")
    except (AccessDenied, NotFound):
        return False
    return not any(part and not access.visible(part) for part in field.split("."))


def record_row(conn: Connection, compiled: CompiledForm, actor: Actor, record_id: int, action: str, *,
               include_deleted: bool = False, lock: bool = False) -> tuple[FormAccess, dict[str, Any]]:
    """The access under which ``actor`` may ``action`` record ``record_id``, and its row.

    The form's permissions first (the action granted and the row in its scope); else a workflow task:
    whoever holds or held one on the record may read it, the approvers of a pending task may update it.
    A record that exists but is out of reach is 403 (:func:`refusal`); one that does not exist, 404."""
    access = form_access(compiled, actor)
    t = compiled.main
    q = sa.select(t).where(t.c.id == record_id)
    if not include_deleted:
        q = q.where(t.c.deleted_at.is_(None))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    if access.can(action):
        scope = access.scope(action)
        row = conn.execute(q.where(scope) if scope is not None else q).mappings().first()
        if row is not None:
            return access, dict(row)
    held = task_access(conn, compiled, actor, record_id, action, access) if action in ("read", "update") else None
    row = conn.execute(q).mappings().first()
    if row is None and held is None and not access.can(action):
        raise refusal(compiled.name, access.label, action)
    if row is None:
        raise NotFound(f"「{access.label['zh-CN'] if access.label else compiled.name}」中没有编号为 {record_id} 的记录：它可能已被删除，请刷新列表",
                       f"there is no record {record_id} in “{access.label['en'] if access.label else compiled.name}”: "
                       "it may have been deleted; reload the list")
    if held is not None:
        return held, dict(row)
    raise refusal(compiled.name, access.label, action, record_id)


def task_access(conn: Connection, compiled: CompiledForm, actor: Actor, record_id: int, action: str,
                base: FormAccess) -> FormAccess | None:
    """Access to one record through workflow tasks: ``read`` for anyone who holds or held a task on it
    (approval, cc, delegate), ``update`` for the holder of a pending task of a running flow (what they
    may change is the node's ``editable_fields``: the approval lock enforces it). Fields the actor's
    roles hide stay hidden. None when no task gives it."""
    if actor.id is None:
        return None
    I, TK = T.wf_instance, T.wf_task
    q = (sa.select(TK.c.id).join(I, I.c.id == TK.c.instance_id)
         .where(I.c.form == compiled.name, I.c.record_id == record_id,
                sa.or_(TK.c.assignee_id == actor.id, TK.c.acted_by == actor.id)))
    if action == "update":     # an approver's open task: not a delegate asked for an opinion, not a copy
        q = q.where(TK.c.status == "pending", TK.c.kind == "approval", I.c.status == "running")
    if conn.execute(q.limit(1)).first() is None:
        return None
    hidden = base.hidden if base.can("read") else frozenset()
    acts = frozenset({"read"} | ({"update"} if action == "update" else set()))
    return FormAccess(compiled.name, acts, {}, hidden, hidden, base.label)


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


def holds_task_on(conn: Connection, form: str, actor: Actor) -> bool:
    """Whether ``actor`` holds or held a workflow task on any record of ``form`` (so the record page
    an inbox link opens may show the form's definition, as far as their access goes)."""
    if actor.id is None:
        return False
    I, TK = T.wf_instance, T.wf_task
    q = (sa.select(TK.c.id).join(I, I.c.id == TK.c.instance_id)
         .where(I.c.form == form, sa.or_(TK.c.assignee_id == actor.id, TK.c.acted_by == actor.id)).limit(1))
    return conn.execute(q).first() is not None
