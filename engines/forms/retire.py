"""Retiring a form with its pack: hide it (tables and records kept), restore it, or purge it for good.

A retired form (``mom_form.retired_at`` set; ``retired_by_pack`` names the pack whose uninstall
retired it, empty when an administrator did) is left out of every listing and menu, and every
record API refuses it with a NotFound saying that the records are kept and how to bring the form
back (``FormRegistry.get``). The pack manager still reads it (``store.current``,
``store.version_definition``) and restores it by reinstalling the pack (``store.publish(…,
restore=True)``) or with ``restore_form``. ``purge_form`` is the irreversible step: it drops the
form's tables and everything that only made sense with its records, and keeps the audit log.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.model import MAIN
from mom.platform.db import tables as T
from mom.platform.errors import NotFound


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _require(conn: Connection, name: str) -> Any:
    row = conn.execute(sa.select(T.form.c.physical, T.form.c.retired_at, T.form.c.retired_by_pack)
                       .where(T.form.c.name == name)).first()
    if row is None:
        raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist")
    return row


def is_retired(conn: Connection, name: str) -> str | None:
    """The pack that retired form ``name`` ("" when retired by hand); None when live or unknown."""
    row = conn.execute(sa.select(T.form.c.retired_at, T.form.c.retired_by_pack).where(T.form.c.name == name)).first()
    return None if row is None or row[0] is None else (row[1] or "")


def live_form(conn: Connection, name: str) -> tuple[dict[str, Any], bool] | None:
    """The current definition of form ``name`` and whether it is retired; None when unknown."""
    row = conn.execute(sa.select(T.form_version.c.definition, T.form.c.retired_at).join(T.form, sa.and_(
        T.form.c.name == T.form_version.c.form_name, T.form.c.current_version == T.form_version.c.version))
        .where(T.form.c.name == name)).first()
    return None if row is None else (dict(row[0]), row[1] is not None)


def retire_form(conn: Connection, name: str, *, pack: str | None) -> None:
    """Hide form ``name`` (its pack ``pack`` was uninstalled; None: by hand). Tables and records stay."""
    _require(conn, name)
    conn.execute(T.form.update().where(T.form.c.name == name).values(retired_at=_now(), retired_by_pack=pack or None))


def restore_form(conn: Connection, name: str) -> None:
    """Bring a retired form back as it was (a live form: nothing happens)."""
    _require(conn, name)
    conn.execute(T.form.update().where(T.form.c.name == name).values(retired_at=None, retired_by_pack=None))


def purge_form(conn: Connection, name: str) -> dict[str, Any]:
    """Destroy form ``name`` and its data (explicit and irreversible), in the caller's transaction.

    Drops every physical table of the form (main, child and retired tables) and the summary tables of
    reports over it; deletes its versions, the workflow instances of its records (with their tasks
    and events), the attachment links of its records, its list views and auto-number sequences.
    The audit log is kept (history). Returns what was removed, by kind."""
    phys = _require(conn, name)[0] or {}
    q = conn.dialect.identifier_preparer.quote
    tables = phys.get("tables") or {}
    # children first: their parent_id references the main table
    names = [m["name"] for tid, m in tables.items() if tid != MAIN] + [m["name"] for tid, m in tables.items() if tid == MAIN]
    for table in names:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(table)}")
    summaries = conn.execute(sa.select(T.report_summary.c.table_name).where(T.report_summary.c.form == name)).scalars().all()
    for table in summaries:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(table)}")
    out: dict[str, Any] = {"form": name, "tables": len(names) + len(summaries)}
    out["summaries"] = conn.execute(T.report_summary.delete().where(T.report_summary.c.form == name)).rowcount
    instances = sa.select(T.wf_instance.c.id).where(T.wf_instance.c.form == name).scalar_subquery()
    conn.execute(T.wf_task.delete().where(T.wf_task.c.instance_id.in_(instances)))
    conn.execute(T.wf_event.delete().where(T.wf_event.c.instance_id.in_(instances)))
    out["workflow_instances"] = conn.execute(T.wf_instance.delete().where(T.wf_instance.c.form == name)).rowcount
    out["attachment_links"] = conn.execute(T.attachment_link.delete().where(
        T.attachment_link.c.kind == "record", T.attachment_link.c.name == name)).rowcount
    out["list_views"] = conn.execute(T.list_view.delete().where(T.list_view.c.form == name)).rowcount
    out["sequences"] = conn.execute(T.sequence.delete().where(
        T.sequence.c.name.startswith(f"{name}.", autoescape=True))).rowcount
    out["versions"] = conn.execute(T.form_version.delete().where(T.form_version.c.form_name == name)).rowcount
    conn.execute(T.form.delete().where(T.form.c.name == name))
    return out
