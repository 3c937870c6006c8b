"""Published forms: plan, publish (apply + keep the version), read versions, purge retired data,
and a registry of compiled forms cached by (name, version).
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from mom.engines.definitions.identity import definition_hash
from mom.engines.expressions.strictness import stored_definitions
from mom.engines.forms import physical
from mom.engines.forms.apply import apply_plan
from mom.engines.forms.compile import CompiledForm, compile_form
from mom.engines.forms import fieldtypes
from mom.engines.forms.definition import MissingFieldType, validate_form
from mom.engines.forms.model import MAIN, FormDefinition, text_of
from mom.engines.forms.plan import Plan, build_plan
from mom.engines.forms.retire import is_retired
from mom.platform.db import tables as T
from mom.platform.errors import Conflict, NotFound, did_you_mean


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def form_names(conn: Connection, *, retired: bool = False) -> list[str]:
    """Names of the published forms; a retired form (its pack uninstalled) only with ``retired``."""
    q = sa.select(T.form.c.name).order_by(T.form.c.name)
    return [r[0] for r in conn.execute(q if retired else q.where(T.form.c.retired_at.is_(None)))]


def known_forms(conn: Connection, *, retired: bool = False) -> dict[str, Any]:
    """name -> raw definition of every published form (current version). A retired form is left out
    (a definition may not newly reference it) unless ``retired``; stored definitions still load."""
    q = (sa.select(T.form_version.c.form_name, T.form_version.c.definition)
         .join(T.form, sa.and_(T.form.c.name == T.form_version.c.form_name,
                               T.form.c.current_version == T.form_version.c.version)))
    return {r[0]: r[1] for r in conn.execute(q if retired else q.where(T.form.c.retired_at.is_(None)))}


def current(conn: Connection, name: str) -> tuple[FormDefinition, int, dict] | None:
    row = conn.execute(sa.select(T.form.c.current_version, T.form.c.physical).where(T.form.c.name == name)).first()
    if row is None:
        return None
    raw = conn.execute(sa.select(T.form_version.c.definition).where(
        T.form_version.c.form_name == name, T.form_version.c.version == row[0])).scalar_one()
    with stored_definitions():
        try:
            defn = validate_form(raw)
        except MissingFieldType as exc:
            # its plug-in is gone: plan the fix (change or drop the field) against a stand-in; the
            # physical state, which the plan diffs against, still knows the real columns
            stand_in = validate_form(_stand_in(raw, {m["path"] for m in exc.detail["missing"]}))
            defn = dataclasses.replace(stand_in, hash=definition_hash(raw))   # a fix identical to it is a change
    return defn, int(row[0]), row[1]


def _stand_in(raw: Mapping[str, Any], paths: set[str]) -> dict[str, Any]:
    """``raw`` with each field at ``paths`` (``/fields/3/type``) reduced to a plain text field."""
    out = copy.deepcopy(dict(raw))

    def walk(fields: Any, base: str) -> None:
        for i, f in enumerate(fields if isinstance(fields, list) else []):
            if f"{base}/{i}/type" in paths:
                fields[i] = {k: f[k] for k in ("id", "key", "label") if k in f} | {"type": "text"}
            elif isinstance(f, dict) and f.get("type") == "table":
                walk(f.get("fields"), f"{base}/{i}/fields")
    walk(out.get("fields"), "/fields")
    return out


def plan_form(conn: Connection, raw: Any, *, extra_known: Mapping[str, Any] | None = None) -> tuple[CompiledForm, Plan]:
    """Validate ``raw`` against the published forms and plan it; nothing is written."""
    compiled, plan, _ = _plan_with_current(conn, raw, extra_known)
    return compiled, plan


def _plan_with_current(conn: Connection, raw: Any, extra_known: Mapping[str, Any] | None, *, retired: bool = False
                       ) -> tuple[CompiledForm, Plan, tuple[FormDefinition, int, dict] | None]:
    known = known_forms(conn, retired=retired)
    known.update(extra_known or {})
    defn = validate_form(raw, known_forms=known)
    cur = current(conn, defn.name)
    version = cur[1] + 1 if cur and cur[0].hash != defn.hash else (cur[1] if cur else 1)
    compiled = compile_form(defn, version)
    return compiled, build_plan(conn, compiled, cur), cur


def publish(conn: Connection, raw: Any, *, actor_id: int | None = None,
            extra_known: Mapping[str, Any] | None = None, restore: bool = False) -> tuple[Plan, CompiledForm]:
    """Plan and apply ``raw`` in the caller's transaction; keep the new version. Blocked -> Conflict.

    The name of a retired form (its pack uninstalled) is refused (Conflict) unless ``restore`` (the
    pack manager reinstalling it), which also brings the form back."""
    was = is_retired(conn, raw.get("name")) if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) else None
    if was is not None and not restore:
        if not was:
            raise Conflict(f"表单 {raw['name']} 已停用：请管理员恢复，或换一个名称",
                           f"form {raw['name']} is retired: ask an administrator to restore it, or choose another name")
        raise Conflict(f"表单 {raw['name']} 已随模型包 {was} 停用：重新安装该模型包可恢复，或换一个名称",
                       f"form {raw['name']} was retired with pack {was}: reinstall the pack to restore it, "
                       f"or choose another name")
    compiled, plan, cur = _plan_with_current(conn, raw, extra_known, retired=restore)
    if was is not None:
        conn.execute(T.form.update().where(T.form.c.name == compiled.name).values(retired_at=None, retired_by_pack=None))
    if plan.unchanged:
        return plan, compiled
    if plan.blocked:
        raise Conflict("变更计划被阻止，未做任何修改；见 detail.plan", "the plan is blocked; nothing was changed (see detail.plan)",
                       detail={"plan": plan.as_dict()})
    apply_plan(conn, plan, compiled)
    phys = physical.of_compiled(compiled, cur[2] if cur else None)
    now = _now()
    conn.execute(T.form_version.insert().values(
        form_name=compiled.name, version=plan.to_version, definition=dict(compiled.definition.raw),
        definition_hash=compiled.definition.hash, plan=plan.as_dict(), published_at=now, published_by=actor_id))
    values = dict(current_version=plan.to_version, definition_hash=compiled.definition.hash, physical=phys, updated_at=now)
    if cur is None:
        conn.execute(T.form.insert().values(name=compiled.name, listeners=listeners_of(conn, compiled.name), **values))
    else:
        conn.execute(T.form.update().where(T.form.c.name == compiled.name).values(**values))
    return plan, compiled


def retired_error(conn: Connection, name: str, pack: str) -> NotFound:
    """What a caller of a retired form is told: its records are kept, reinstalling the pack restores it."""
    row = conn.execute(sa.select(T.form_version.c.definition).join(T.form, sa.and_(
        T.form.c.name == T.form_version.c.form_name, T.form.c.current_version == T.form_version.c.version))
        .where(T.form.c.name == name)).first()
    label = text_of((row[0] or {}).get("label") if row else None, name)
    if not pack:
        return NotFound(f"表单「{label['zh-CN']}」已停用，记录仍然保留；请管理员恢复",
                        f"form \"{label['en']}\" is retired; its records are kept. Ask an administrator to restore it")
    return NotFound(f"表单「{label['zh-CN']}」已停用（模型包 {pack} 已卸载），记录仍然保留；重新安装该模型包即可恢复",
                    f"form \"{label['en']}\" is retired (pack {pack} was uninstalled); its records are kept. "
                    f"Reinstall the pack to restore it")


def versions(conn: Connection, name: str) -> list[dict[str, Any]]:
    q = (sa.select(T.form_version.c.version, T.form_version.c.definition_hash, T.form_version.c.published_at,
                   T.form_version.c.published_by, T.form_version.c.plan)
         .where(T.form_version.c.form_name == name).order_by(T.form_version.c.version))
    return [dict(r._mapping) for r in conn.execute(q)]


def version_definition(conn: Connection, name: str, version: int) -> dict[str, Any]:
    raw = conn.execute(sa.select(T.form_version.c.definition).where(
        T.form_version.c.form_name == name, T.form_version.c.version == version)).scalar()
    if raw is None:
        raise NotFound(f"表单 {name} 没有版本 {version}", f"form {name} has no version {version}")
    return raw


def diff_versions(conn: Connection, name: str, a: int, b: int) -> list[dict[str, Any]]:
    """What changed from version a to version b, as plan operations (no data checks)."""
    with stored_definitions():
        old, new = validate_form(version_definition(conn, name, a)), validate_form(version_definition(conn, name, b))
    phys = physical.of_compiled(compile_form(old, a))
    return [op.as_dict() for op in build_plan(None, compile_form(new, b), (old, a, phys)).operations]


def purge_field(conn: Connection, name: str, field_id: str) -> dict[str, Any]:
    """Destroy the data of a retired field (explicit and irreversible). Active fields are refused."""
    cur = current(conn, name)
    if cur is None:
        raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist")
    phys = cur[2]
    meta = phys["columns"].get(field_id)
    if meta is None:
        raise NotFound(f"表单 {name} 没有字段 id {field_id}{did_you_mean(field_id, set(phys['columns']))}",
                       f"form {name} has no field id {field_id}{did_you_mean(field_id, set(phys['columns']))}")
    if not meta.get("retired"):
        raise Conflict(f"字段 {meta['key']} 仍在使用；先从定义中移除（停用）再清除",
                       f"field {meta['key']} is still active; remove (retire) it from the definition before purging")
    table = phys["tables"][meta["table"]]
    if not table.get("retired"):
        ops = Operations(MigrationContext.configure(conn))
        if conn.dialect.name == "sqlite":
            with ops.batch_alter_table(table["name"], recreate="always") as batch:
                batch.drop_column(meta["column"])
        else:
            ops.drop_column(table["name"], meta["column"])
    del phys["columns"][field_id]
    conn.execute(T.form.update().where(T.form.c.name == name).values(physical=phys, updated_at=_now()))
    return {"form": name, "field_id": field_id, "column": meta["column"], "purged": True}


def retired_fields(conn: Connection, name: str) -> list[dict[str, Any]]:
    cur = current(conn, name)
    if cur is None:
        return []
    return [{"id": fid, "key": m["key"], "column": m["column"], "type": m["type"],
             "table": m["table"] if m["table"] == MAIN else cur[2]["tables"][m["table"]]["name"]}
            for fid, m in cur[2]["columns"].items() if m.get("retired")]


def listeners_of(conn: Connection, name: str) -> dict[str, int]:
    """How many workflows (enabled or not: their running instances still lock records), enabled event
    rules and report summaries react to the records of form ``name``."""
    flows = conn.execute(sa.select(sa.func.count()).select_from(T.workflow).where(T.workflow.c.form == name)).scalar_one()
    rules = conn.execute(sa.select(sa.func.count()).select_from(T.rule)
                         .where(T.rule.c.form == name, T.rule.c.enabled.is_(True))).scalar_one()
    summaries = conn.execute(sa.select(sa.func.count()).select_from(T.report_summary)
                             .where(T.report_summary.c.form == name)).scalar_one()
    return {"workflows": int(flows), "rules": int(rules), "summaries": int(summaries)}


def refresh_listeners(conn: Connection, name: str) -> None:
    """Recount after a workflow or rule bound to ``name`` was applied, enabled or disabled."""
    conn.execute(T.form.update().where(T.form.c.name == name).values(listeners=listeners_of(conn, name)))


NO_LISTENERS: Mapping[str, int] = {"workflows": 0, "rules": 0, "summaries": 0}


class FormRegistry:
    """Compiled forms by (name, version). Each lookup reads the current version (one PK read), so a
    publish by another worker is seen at once; compiling happens once per version per process."""

    def __init__(self, hooks: Any = None) -> None:
        self._cache: dict[tuple[str, int], tuple[Any, CompiledForm]] = {}
        self._lock = threading.Lock()
        self._listeners: dict[str, Mapping[str, int]] = {}
        #: record hooks (workflow locks, state machines, events); see mom.engines.records.hooks
        self.hooks = hooks

    def listeners(self, name: str) -> Mapping[str, int]:
        """Listener counts of ``name`` as read by the last ``get`` (same transaction for a request)."""
        return self._listeners.get(name) or NO_LISTENERS

    # built once: every request of every form runs it
    _CURRENT = sa.select(T.form.c.current_version, T.form.c.listeners, T.form.c.retired_at,
                         T.form.c.retired_by_pack).where(T.form.c.name == sa.bindparam("name"))

    def get(self, conn: Connection, name: str) -> CompiledForm:
        """The current version of a live form; an unknown or retired form is a NotFound (a retired
        one says which pack took it away and how to bring it back)."""
        found = conn.execute(self._CURRENT, {"name": name}).first()
        version = found[0] if found is not None else None
        if version is None:
            names = form_names(conn)
            raise NotFound(f"表单 {name} 不存在{did_you_mean(name, names)}", f"form {name} does not exist{did_you_mean(name, names)}")
        if found[2] is not None:
            raise retired_error(conn, name, found[3] or "")
        self._listeners[name] = found[1] or NO_LISTENERS
        return self._compiled(conn, name, int(version))

    _CURRENT_MANY = sa.select(T.form.c.name, T.form.c.current_version, T.form.c.listeners).where(
        T.form.c.name.in_(sa.bindparam("names", expanding=True)), T.form.c.current_version.is_not(None),
        T.form.c.retired_at.is_(None))
    # PostgreSQL: the names as one array parameter, so the statement's text is the same for any number of
    # names (no IN list expanded on every call: a job report asks on every request)
    _CURRENT_MANY_PG = sa.select(T.form.c.name, T.form.c.current_version, T.form.c.listeners).where(
        T.form.c.name == sa.any_(sa.bindparam("names", type_=postgresql.ARRAY(sa.String))),
        T.form.c.current_version.is_not(None), T.form.c.retired_at.is_(None))

    def get_many(self, conn: Connection, names: Iterable[str]) -> dict[str, CompiledForm]:
        """:meth:`get` of several forms in one read (a job report names half a dozen); an unknown or
        retired form is left out (:meth:`get` of it says why)."""
        out = {}
        q = self._CURRENT_MANY_PG if conn.dialect.name == "postgresql" else self._CURRENT_MANY
        for name, version, listeners in conn.execute(q, {"names": sorted(set(names))}):
            self._listeners[name] = listeners or NO_LISTENERS
            out[name] = self._compiled(conn, name, int(version))
        return out

    def _compiled(self, conn: Connection, name: str, version: int) -> CompiledForm:
        key = (name, version)
        types = fieldtypes.registry()   # compiled against these field types (a tool may switch them)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is types:
            return hit[1]
        raw = version_definition(conn, name, version)
        with stored_definitions():   # loads as published, even if today's publish checks are stricter
            try:
                compiled = compile_form(validate_form(raw), version)
            except MissingFieldType as exc:
                exc.detail.update(form=name, version=version)
                exc.raw = raw
                raise
        with self._lock:
            self._cache[key] = (types, compiled)
        return compiled
