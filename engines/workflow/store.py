"""Published workflows: apply (validate, keep a new version), read versions, and a registry of compiled
specs by (name, version). Instances stay pinned to the version they started under."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pluggy
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.strictness import stored_definitions
from mom.engines.forms.store import FormRegistry, refresh_listeners
from mom.engines.definitions.jsonschema import schema_problems
from mom.engines.forms.model import text_of
from mom.engines.workflow.spec import WorkflowSpec, validate_workflow, workflow_schema
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, NotFound, Problem, ProblemList, did_you_mean


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def workflow_names(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(sa.select(T.workflow.c.name).order_by(T.workflow.c.name))]


def _check_names(conn: Connection, raw: Any, problems: ProblemList) -> None:
    """Usernames and role names in assignee lists must exist (a typo would leave a node without approvers)."""
    users = {r[0] for r in conn.execute(sa.select(T.user.c.username))}
    roles = {r[0] for r in conn.execute(sa.select(T.role.c.name))}

    def walk(node_list: Any, path: str) -> None:
        for i, n in enumerate(node_list or []):
            p = f"{path}/{i}"
            groups = [("assignees", n.get("assignees")), ("timeout/escalate_to", (n.get("timeout") or {}).get("escalate_to"))]
            groups += [(f"actions/{j}/to", a.get("to")) for j, a in enumerate(n.get("actions") or [])]
            for where, lst in groups:
                for j, a in enumerate(lst or []):
                    for k, name in enumerate(a.get("users") or []):
                        if name not in users:
                            problems.add(f"{p}/{where}/{j}/users/{k}", f"用户 {name} 不存在{did_you_mean(name, users)}",
                                         f"user {name} does not exist{did_you_mean(name, users)}", "unknown_user")
                    for k, name in enumerate(a.get("roles") or []):
                        if name not in roles:
                            problems.add(f"{p}/{where}/{j}/roles/{k}", f"角色 {name} 不存在{did_you_mean(name, roles)}",
                                         f"role {name} does not exist{did_you_mean(name, roles)}", "unknown_role")
            for j, b in enumerate(n.get("branches") or []):
                walk(b.get("nodes"), f"{p}/branches/{j}/nodes")

    walk(raw.get("nodes"), "/nodes")


def validate(conn: Connection, forms: FormRegistry, raw: Any, *, plugins: pluggy.PluginManager | None = None) -> WorkflowSpec:
    """Full check against the live database: the bound form, its fields, users and roles (node kinds
    and action types of ``plugins``, default the process's plug-in manager)."""
    if not isinstance(raw, dict):
        raise InvalidInput("流程定义必须是 JSON 对象", "a workflow definition must be a JSON object")
    problems = ProblemList()
    schema_problems(raw, workflow_schema(plugins), problems)   # shape first: everything below relies on it
    problems.raise_if_any("流程定义有误", "the workflow definition is invalid")
    try:
        compiled = forms.get(conn, raw["form"])
    except NotFound as exc:
        raise InvalidInput("流程绑定的表单不存在", "the bound form does not exist",
                           problems=[Problem("/form", exc.zh, exc.en, "unknown_form")]) from None
    _check_names(conn, raw, problems)
    try:
        spec = validate_workflow(raw, form=compiled, plugins=plugins)
    except InvalidInput as exc:
        exc.problems.extend(problems.items)
        raise
    problems.raise_if_any("流程中的用户或角色不存在", "users or roles in the flow do not exist")
    return spec


def apply(conn: Connection, forms: FormRegistry, raw: Any, *, actor_id: int | None = None,
          plugins: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Publish ``raw`` as the next version (a no-op when unchanged). Running instances keep their version."""
    spec = validate(conn, forms, raw, plugins=plugins)
    cur = conn.execute(sa.select(T.workflow).where(T.workflow.c.name == spec.name)).mappings().first()
    if cur is not None and cur["definition_hash"] == spec.hash:
        return {"name": spec.name, "version": cur["current_version"], "changed": False}
    version = (cur["current_version"] if cur else 0) + 1
    now = _now()
    conn.execute(T.workflow_version.insert().values(name=spec.name, version=version, definition=dict(raw),
                                                    definition_hash=spec.hash, published_at=now, published_by=actor_id))
    values = dict(form=spec.form, current_version=version, definition_hash=spec.hash, updated_at=now)
    if cur is None:
        conn.execute(T.workflow.insert().values(name=spec.name, enabled=True, **values))
    else:
        conn.execute(T.workflow.update().where(T.workflow.c.name == spec.name).values(**values))
        if cur["form"] != spec.form:
            refresh_listeners(conn, cur["form"])
    refresh_listeners(conn, spec.form)
    return {"name": spec.name, "version": version, "changed": True}


def set_enabled(conn: Connection, name: str, enabled: bool) -> None:
    form = conn.execute(sa.select(T.workflow.c.form).where(T.workflow.c.name == name)).scalar()
    if form is None:
        raise _unknown(conn, name)
    conn.execute(T.workflow.update().where(T.workflow.c.name == name).values(enabled=enabled, updated_at=_now()))
    refresh_listeners(conn, form)


def purge(conn: Connection, name: str) -> dict[str, int]:
    """Delete workflow ``name`` for good: its versions and its instances (running ones too, with their
    tasks and events). Returns the rows removed by kind."""
    form = conn.execute(sa.select(T.workflow.c.form).where(T.workflow.c.name == name)).scalar()
    if form is None:
        raise _unknown(conn, name)
    instances = sa.select(T.wf_instance.c.id).where(T.wf_instance.c.workflow == name).scalar_subquery()
    conn.execute(T.wf_task.delete().where(T.wf_task.c.instance_id.in_(instances)))
    conn.execute(T.wf_event.delete().where(T.wf_event.c.instance_id.in_(instances)))
    out = {"instances": conn.execute(T.wf_instance.delete().where(T.wf_instance.c.workflow == name)).rowcount,
           "versions": conn.execute(T.workflow_version.delete().where(T.workflow_version.c.name == name)).rowcount}
    conn.execute(T.workflow.delete().where(T.workflow.c.name == name))
    if conn.execute(sa.select(T.form.c.name).where(T.form.c.name == form)).first() is not None:
        refresh_listeners(conn, form)
    return out


def _unknown(conn: Connection, name: str) -> NotFound:
    names = set(workflow_names(conn))
    return NotFound(f"流程 {name} 不存在{did_you_mean(name, names)}", f"workflow {name} does not exist{did_you_mean(name, names)}")


def definition(conn: Connection, name: str, version: int | None = None) -> dict[str, Any]:
    if version is None:
        version = conn.execute(sa.select(T.workflow.c.current_version).where(T.workflow.c.name == name)).scalar()
        if version is None:
            raise _unknown(conn, name)
    raw = conn.execute(sa.select(T.workflow_version.c.definition).where(
        T.workflow_version.c.name == name, T.workflow_version.c.version == version)).scalar()
    if raw is None:
        raise NotFound(f"流程 {name} 没有版本 {version}", f"workflow {name} has no version {version}")
    return raw


def listing(conn: Connection) -> list[dict[str, Any]]:
    V = T.workflow_version
    rows = conn.execute(sa.select(T.workflow, V.c.definition).outerjoin(
        V, sa.and_(V.c.name == T.workflow.c.name, V.c.version == T.workflow.c.current_version)).order_by(T.workflow.c.name)).mappings().all()
    return [{"name": r["name"], "label": text_of((r["definition"] or {}).get("label"), r["name"]), "form": r["form"],
             "version": r["current_version"], "enabled": r["enabled"], "updated_at": r["updated_at"].isoformat(),
             "trigger": ((r["definition"] or {}).get("trigger") or {}).get("on", "submit"),
             "revoke_flow": (r["definition"] or {}).get("revoke_flow")} for r in rows]


class WorkflowRegistry:
    """Compiled specs by (name, version); compiled once per process, never changed afterwards. Node
    kinds and action types come from ``plugins`` (default: the process's plug-in manager)."""

    def __init__(self, plugins: pluggy.PluginManager | None = None) -> None:
        self.plugins = plugins
        self._cache: dict[tuple[str, int], WorkflowSpec] = {}
        self._lock = threading.Lock()

    _CURRENT = sa.select(T.workflow.c.current_version, T.workflow.c.enabled).where(T.workflow.c.name == sa.bindparam("name"))

    def current(self, conn: Connection, name: str) -> tuple[WorkflowSpec, bool]:
        """The current version's spec and whether the workflow is enabled (one read)."""
        row = conn.execute(self._CURRENT, {"name": name}).first()
        if row is None:
            raise _unknown(conn, name)
        return self.get(conn, name, int(row[0])), bool(row[1])

    def get(self, conn: Connection, name: str, version: int | None = None) -> WorkflowSpec:
        if version is None:
            return self.current(conn, name)[0]
        hit = self._cache.get((name, version))
        if hit is None:
            with stored_definitions():   # loads as published, even if today's publish checks are stricter
                hit = validate_workflow(definition(conn, name, version), version=version, plugins=self.plugins)
            with self._lock:
                self._cache[(name, version)] = hit
        return hit

    def for_form(self, conn: Connection, form: str) -> list[WorkflowSpec]:
        rows = conn.execute(sa.select(T.workflow.c.name, T.workflow.c.current_version)
                            .where(T.workflow.c.form == form, T.workflow.c.enabled.is_(True))
                            .order_by(T.workflow.c.name)).all()
        return [self.get(conn, n, int(v)) for n, v in rows]
