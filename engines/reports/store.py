"""Published reports, dashboards and print templates: validate, apply (keep a new version when the
definition changed), read, list. One table for the three kinds (``mom_definition``) plus versions."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.definitions.identity import definition_hash
from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.forms.model import text_of
from mom.engines.forms.store import refresh_listeners
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, ProblemList, did_you_mean

SCHEMAS = Path(__file__).parent / "schema"
KINDS = {"report": ("report-1.json", "mom.report/1", "报表", "report"),
         "dashboard": ("dashboard-1.json", "mom.dashboard/1", "看板", "dashboard"),
         "print_template": ("print-1.json", "mom.print/1", "打印模板", "print template")}
_schemas: dict[str, dict[str, Any]] = {}


def schema(kind: str) -> dict[str, Any]:
    if kind not in _schemas:
        _schemas[kind] = load_schema(SCHEMAS / KINDS[kind][0])
    return _schemas[kind]


def check_shape(kind: str, raw: Any, problems: ProblemList) -> None:
    zh, en = KINDS[kind][2], KINDS[kind][3]
    if not isinstance(raw, dict):
        raise InvalidInput(f"{zh}定义必须是 JSON 对象", f"a {en} definition must be a JSON object")
    schema_problems(raw, schema(kind), problems)
    problems.raise_if_any(f"{zh}定义有误", f"the {en} definition is invalid")


def names(conn: Connection, kind: str, *, retired: bool = False) -> list[str]:
    """Names of the definitions of ``kind``; retired ones (their pack uninstalled) only with ``retired``."""
    q = sa.select(T.definition.c.name).where(T.definition.c.kind == kind).order_by(T.definition.c.name)
    return [r[0] for r in conn.execute(q if retired else q.where(T.definition.c.retired_at.is_(None)))]


def get(conn: Connection, kind: str, name: str, *, retired: bool = False) -> tuple[dict[str, Any], int]:
    """The current definition and version. A retired one is a NotFound saying how to bring it back,
    unless ``retired`` (the pack manager reads it)."""
    row = conn.execute(sa.select(T.definition_version.c.definition, T.definition_version.c.version,
                                 T.definition.c.retired_at)
                       .join(T.definition, sa.and_(T.definition.c.kind == T.definition_version.c.kind,
                                                   T.definition.c.name == T.definition_version.c.name,
                                                   T.definition.c.current_version == T.definition_version.c.version))
                       .where(T.definition.c.kind == kind, T.definition.c.name == name)).first()
    zh, en = KINDS[kind][2], KINDS[kind][3]
    if row is None:
        known = names(conn, kind)
        raise NotFound(f"{zh} {name} 不存在{did_you_mean(name, known)}", f"{en} {name} does not exist{did_you_mean(name, known)}")
    if row[2] is not None and not retired:
        label = text_of(row[0].get("label"), name)
        raise NotFound(f"{zh}「{label['zh-CN']}」已随模型包卸载而停用；重新安装该模型包即可恢复",
                       f"{en} \"{label['en']}\" was retired when its pack was uninstalled; reinstall the pack to restore it")
    return dict(row[0]), int(row[1])


def live(conn: Connection, kind: str, name: str) -> tuple[dict[str, Any], bool] | None:
    """The current definition and whether it is retired; None when there is none."""
    if not conn.execute(sa.select(T.definition.c.name).where(T.definition.c.kind == kind, T.definition.c.name == name)).first():
        return None
    return get(conn, kind, name, retired=True)[0], is_retired(conn, kind, name)


def is_retired(conn: Connection, kind: str, name: str) -> bool:
    """Whether the definition exists and is retired."""
    return conn.execute(sa.select(T.definition.c.retired_at).where(
        T.definition.c.kind == kind, T.definition.c.name == name)).scalar() is not None


def retire_definition(conn: Connection, kind: str, name: str) -> None:
    """Hide a report, dashboard or print template (its pack was uninstalled): not listed, refused when
    opened or run, its scheduled deliveries stop; kept for ``restore_definition``."""
    get(conn, kind, name, retired=True)
    conn.execute(T.definition.update().where(T.definition.c.kind == kind, T.definition.c.name == name)
                 .values(retired_at=dt.datetime.now(dt.timezone.utc)))


def restore_definition(conn: Connection, kind: str, name: str) -> None:
    """Bring a retired definition back (its schedules resume at their next due time)."""
    get(conn, kind, name, retired=True)
    conn.execute(T.definition.update().where(T.definition.c.kind == kind, T.definition.c.name == name)
                 .values(retired_at=None))


def purge_definition(conn: Connection, kind: str, name: str) -> dict[str, int]:
    """Delete a definition and its versions for good; a report also loses its summary table and its
    delivery runs. Returns the rows removed by kind."""
    get(conn, kind, name, retired=True)
    out = {"summaries": 0, "runs": 0}
    if kind == "report":
        st = conn.execute(sa.select(T.report_summary.c.table_name, T.report_summary.c.form)
                          .where(T.report_summary.c.report == name)).first()
        if st is not None:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {conn.dialect.identifier_preparer.quote(st[0])}")
            out["summaries"] = conn.execute(T.report_summary.delete().where(T.report_summary.c.report == name)).rowcount
            refresh_listeners(conn, st[1])
        out["runs"] = conn.execute(T.report_run.delete().where(T.report_run.c.report == name)).rowcount
    out["versions"] = conn.execute(T.definition_version.delete().where(
        T.definition_version.c.kind == kind, T.definition_version.c.name == name)).rowcount
    conn.execute(T.definition.delete().where(T.definition.c.kind == kind, T.definition.c.name == name))
    return out


def listing(conn: Connection, kind: str) -> list[dict[str, Any]]:
    """The live (not retired) definitions of ``kind``, newest version each."""
    q = (sa.select(T.definition.c.name, T.definition.c.current_version, T.definition.c.source, T.definition.c.updated_at,
                   T.definition.c.next_run_at, T.definition_version.c.definition)
         .join(T.definition_version, sa.and_(T.definition.c.kind == T.definition_version.c.kind,
                                             T.definition.c.name == T.definition_version.c.name,
                                             T.definition.c.current_version == T.definition_version.c.version))
         .where(T.definition.c.kind == kind, T.definition.c.retired_at.is_(None)).order_by(T.definition.c.name))
    return [{"name": r.name, "version": r.current_version, "source": r.source, "label": r.definition.get("label"),
             "roles": (r.definition.get("permissions") or {}).get("roles"),
             # what its data comes from: a report's source form, a dashboard's reports (the menu lists only
             # what the caller may open)
             "form": r.definition.get("source") if kind == "report" else None,
             "reports": sorted({w["report"] for w in r.definition.get("widgets") or [] if isinstance(w, dict) and w.get("report")})
             if kind == "dashboard" else None,
             "menu": r.definition.get("menu") is not False if kind == "report" else True,
             "updated_at": r.updated_at.isoformat(), "next_run_at": r.next_run_at.isoformat() if r.next_run_at else None}
            for r in conn.execute(q)]


def versions(conn: Connection, kind: str, name: str) -> list[dict[str, Any]]:
    q = (sa.select(T.definition_version.c.version, T.definition_version.c.definition_hash,
                   T.definition_version.c.published_at, T.definition_version.c.published_by)
         .where(T.definition_version.c.kind == kind, T.definition_version.c.name == name)
         .order_by(T.definition_version.c.version))
    return [{"version": r.version, "hash": r.definition_hash, "published_at": r.published_at.isoformat(),
             "published_by": r.published_by} for r in conn.execute(q)]


def apply(conn: Connection, kind: str, raw: Mapping[str, Any], *, now: dt.datetime, actor_id: int | None,
          source: str | None = None, next_run_at: dt.datetime | None = None,
          after: Callable[[Connection], None] | None = None) -> dict[str, Any]:
    """Keep ``raw`` (already validated) as the newest version; unchanged -> same version. The name of
    a retired definition is refused (Conflict): reinstalling its pack restores it first."""
    name = raw["name"]
    h = definition_hash(raw)
    cur = conn.execute(sa.select(T.definition.c.current_version, T.definition.c.definition_hash,
                                 T.definition.c.retired_at).where(
        T.definition.c.kind == kind, T.definition.c.name == name).with_for_update()).first()
    if cur is not None and cur[2] is not None:
        zh, en = KINDS[kind][2], KINDS[kind][3]
        raise Conflict(f"{zh} {name} 已随模型包停用：重新安装该模型包可恢复，或换一个名称",
                       f"{en} {name} was retired with its pack: reinstall the pack to restore it, or choose another name")
    if cur is not None and cur[1] == h:
        conn.execute(T.definition.update().where(T.definition.c.kind == kind, T.definition.c.name == name)
                     .values(next_run_at=next_run_at))
        if after:
            after(conn)
        return {"name": name, "version": int(cur[0]), "changed": False}
    version = int(cur[0]) + 1 if cur else 1
    conn.execute(T.definition_version.insert().values(kind=kind, name=name, version=version, definition=dict(raw),
                                                      definition_hash=h, published_at=now, published_by=actor_id))
    values = dict(current_version=version, definition_hash=h, source=source, next_run_at=next_run_at, updated_at=now)
    if cur is None:
        conn.execute(T.definition.insert().values(kind=kind, name=name, **values))
    else:
        conn.execute(T.definition.update().where(T.definition.c.kind == kind, T.definition.c.name == name).values(**values))
    if after:
        after(conn)
    return {"name": name, "version": version, "changed": True}


def delete(conn: Connection, kind: str, name: str) -> None:
    get(conn, kind, name)
    conn.execute(T.definition.delete().where(T.definition.c.kind == kind, T.definition.c.name == name))


def allowed(roles: list[str] | None, actor: Any) -> bool:
    """A definition's ``permissions.roles``: empty means everyone signed in; ``*`` too."""
    if actor.is_admin or not roles:
        return True
    return "*" in roles or bool(set(roles) & set(actor.role_names))


def may_use(raw: Mapping[str, Any], actor: Any) -> bool:
    return allowed((raw.get("permissions") or {}).get("roles"), actor)


def require_use(kind: str, raw: Mapping[str, Any], actor: Any) -> None:
    if not may_use(raw, actor):
        zh, en = KINDS[kind][2], KINDS[kind][3]
        raise AccessDenied(f"没有使用{zh} {raw['name']} 的权限", f"you may not use {en} {raw['name']}")


def index_name(table: str, cols: list[str]) -> str:
    digest = hashlib.sha1(",".join(cols).encode()).hexdigest()[:10]
    return f"ix_rpt_{table[:40]}_{digest}"
