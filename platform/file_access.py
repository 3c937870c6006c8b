"""Who may read a stored file: whoever may read what it belongs to.

- a record's attachment (a field or a child row's field): the record's row scope for ``read`` and the
  field not hidden for the reader, decided by the records engine's own access rules;
- a workflow comment's file: whoever may see the instance's timeline (initiator, assignees, readers
  of the record);
- a scheduled report delivery: the users it was delivered to, while they may still run the report;
- a file not linked to anything yet (just uploaded): its uploader only.

Administrators read everything. A file the caller may not read is answered exactly like a missing
one (404), so nobody learns that it exists.

Each kind of owner (``mom_attachment_link.kind``) is a ``FileOwner`` registered through the
``mom_file_owners`` hook by the engine that knows it (records: ``record``, workflow: ``workflow``,
reports: ``report``), so this module imports no engine and the engines may ask it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform import files
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, MomError, NotFound
from mom.platform.plugins import registry

#: (conn, forms, actor, link) -> whether ``actor`` may read what the ``mom_attachment_link`` row ``link`` names
Readable = Callable[[Connection, Any, Any, Any], bool]


@dataclass(frozen=True)
class FileOwner:
    """A kind of thing a stored file may belong to: ``kind`` is the link's ``kind`` column, ``readable``
    decides for one link (raising a ``MomError`` counts as "no": the owner is gone)."""
    kind: str
    readable: Readable


#: ``owners(pm=None)``: every registered kind of file owner by ``kind`` (the process's plug-in manager
#: unless ``pm`` is given).
owners: Callable[..., dict[str, FileOwner]] = registry("mom_file_owners", what=("文件归属", "file owner"),
                                                       key=lambda o: o.kind)


def not_found(token: str) -> NotFound:
    """The one answer for a missing file and for a file the caller may not read."""
    shown = token if files.is_token(token) else "…"
    return NotFound(f"文件 {shown} 不存在：它可能已被删除", f"file {shown} does not exist: it may have been deleted")


def refused(token: str) -> AccessDenied:
    """A file that exists but belongs to what the caller may not read (issue 20: 无权限, not 不存在)."""
    shown = token if files.is_token(token) else "…"
    return AccessDenied(f"无权限查看文件 {shown}：它属于你无权查看的记录或审批；如需要，请联系记录的负责人或管理员",
                        f"no permission to read file {shown}: it belongs to a record or approval you may not read; "
                        "ask its owner or an administrator if you need it")


def readable_file(conn: Connection, forms: Any, actor: Any, token: str) -> Any:
    """The ``mom_attachment`` row of ``token`` if ``actor`` may read it; 404 when there is none, 403
    (:func:`refused`) when it is not theirs to read."""
    row = files.by_token(conn, token)
    if row is None:
        raise not_found(token)
    if not may_read(conn, forms, actor, row):
        raise refused(token)
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
    owner = owners().get(link.kind)
    if owner is None:          # a kind no plug-in knows (any more): nobody but an administrator reads the file
        return False
    try:
        return bool(owner.readable(conn, forms, actor, link))
    except MomError:           # the form or report is gone: nobody but an administrator reads the file
        return False
