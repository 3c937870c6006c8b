"""Who may read a stored file: whoever may read what it belongs to.

- a record's attachment (a field or a child row's field): the record's row scope for ``read`` and the
  field not hidden for the reader, decided by the records engine's own access rules;
- a workflow comment's file: whoever may see the instance's timeline (initiator, assignees, readers
  of the record);
- a scheduled report delivery: the users it was delivered to, while they may still run the report;
- a file not linked to anything yet (just uploaded): its uploader only.

Administrators read everything. A file the caller may not read is answered exactly like a missing
one (404), so nobody learns that it exists.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform import files
from mom.platform.db import tables as T
from mom.platform.errors import MomError, NotFound


def not_found(token: str) -> NotFound:
    """The one answer for a missing file and for a file the caller may not read."""
    shown = token if files.is_token(token) else "…"
    return NotFound(f"文件 {shown} 不存在或你无权查看", f"file {shown} does not exist or you may not read it")


def readable_file(conn: Connection, forms: Any, actor: Any, token: str) -> Any:
    """The ``mom_attachment`` row of ``token`` if ``actor`` may read it; else ``not_found``."""
    row = files.by_token(conn, token)
    if row is None or not may_read(conn, forms, actor, row):
        raise not_found(token)
    return row


def may_read(conn: Connection, forms: Any, actor: Any, row: Any) -> bool:
    """Whether ``actor`` may read the file ``row`` (a ``mom_attachment`` row)."""
    if actor.is_admin:
        return True
    links = conn.execute(sa.select(T.attachment_link).where(T.attachment_link.c.attachment_id == row.id)).all()
    if not links:
        return actor.id is not None and row.created_by == actor.id
    return any(_link_readable(conn, forms, actor, link) for link in links)


def may_use(conn: Connection, forms: Any, actor: Any, row: Any) -> bool:
    """Whether ``actor`` may put the file ``row`` into a record or a comment: a file they uploaded,
    or one they may already read (so nobody takes someone else's file by its id)."""
    return actor.is_admin or (actor.id is not None and row.created_by == actor.id) or may_read(conn, forms, actor, row)


def _link_readable(conn: Connection, forms: Any, actor: Any, link: Any) -> bool:
    try:
        if link.kind == "record":
            return record_readable(conn, forms, actor, link.name, int(link.ref_id), link.field)
        if link.kind == "workflow":
            return instance_visible(conn, forms, actor, int(link.ref_id))
        if link.kind == "report":
            return _delivery_readable(conn, actor, link.name, int(link.ref_id))
    except MomError:           # the form or report is gone: nobody but an administrator reads the file
        return False
    return False


def record_readable(conn: Connection, forms: Any, actor: Any, form: str, record_id: int, field: str = "") -> bool:
    """Whether ``actor`` may read record ``record_id`` of ``form`` and see ``field`` ("key" or "table.key")."""
    from mom.engines.records.access import form_access

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


def instance_visible(conn: Connection, forms: Any, actor: Any, instance_id: int) -> bool:
    """Whether ``actor`` may see a workflow instance's timeline: its initiator, anyone it assigned a
    task to, or a reader of its record (the same rule as ``GET /api/workflow-instances/{id}``)."""
    inst = conn.execute(sa.select(T.wf_instance.c.initiator_id, T.wf_instance.c.form, T.wf_instance.c.record_id)
                        .where(T.wf_instance.c.id == instance_id)).first()
    if inst is None:
        return False
    if actor.id is not None and actor.id == inst.initiator_id:
        return True
    involved = conn.execute(sa.select(T.wf_task.c.id).where(T.wf_task.c.instance_id == instance_id,
                                                            T.wf_task.c.assignee_id == actor.id).limit(1)).first()
    return involved is not None or record_readable(conn, forms, actor, inst.form, int(inst.record_id))


def _delivery_readable(conn: Connection, actor: Any, report: str, user_id: int) -> bool:
    """A delivered report file: its recipient, while they may still run the report (the file was made
    under the schedule's permissions, so someone who was not sent it runs the report themselves)."""
    from mom.engines.reports import store

    if actor.id is None or actor.id != user_id:
        return False
    raw, _ = store.get(conn, "report", report)
    return store.may_use(raw, actor)
