"""Content-addressed file store for attachments and generated files (reports, prints): bytes live
under ``<data_dir>/attachments/<sha[:2]>/<sha>``, metadata in ``mom_attachment``. Writing the same
content twice keeps one file, so a retried job never leaves a second copy.

Every file has a random public id (``token``): API answers, URLs and record values carry it, never
the integer key, so ids cannot be guessed. What a file belongs to is kept in ``mom_attachment_link``
(see ``mom.platform.file_access`` for who may read it)."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T

#: what a public file id looks like (``secrets.token_urlsafe(24)``: 32 characters, 192 random bits)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class StoredFile(NamedTuple):
    id: int          # internal key (report runs, outbox payloads)
    token: str       # public id


def new_token() -> str:
    """A fresh public file id."""
    return secrets.token_urlsafe(24)


def is_token(value: Any) -> bool:
    """Whether ``value`` has the shape of a public file id (checked before it reaches a query)."""
    return isinstance(value, str) and TOKEN_RE.fullmatch(value) is not None


def link_of(token: str) -> str:
    """The download URL of a file."""
    return f"/api/attachments/{token}"


def store_dir(settings: Any) -> Path:
    return Path(settings.data_dir) / "attachments"


def path_of(settings: Any, sha256: str) -> Path:
    return store_dir(settings) / sha256[:2] / sha256


def save_bytes(settings: Any, conn: Connection, data: bytes, *, filename: str, content_type: str,
               created_by: int | None) -> StoredFile:
    """Store ``data`` and register it (not linked to anything yet)."""
    digest = hashlib.sha256(data).hexdigest()
    final = path_of(settings, digest)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(final)           # atomic: a crash leaves no half-written file under the final name
    return register(conn, digest, len(data), filename=filename, content_type=content_type, created_by=created_by)


def register(conn: Connection, sha256: str, size: int, *, filename: str, content_type: str,
             created_by: int | None) -> StoredFile:
    """The ``mom_attachment`` row for content already stored under ``path_of(sha256)``."""
    token = new_token()
    aid = conn.execute(T.attachment.insert().values(
        sha256=sha256, size=size, filename=(filename or "file")[:255],
        content_type=(content_type or "application/octet-stream")[:200], token=token,
        created_at=dt.datetime.now(dt.timezone.utc), created_by=created_by).returning(T.attachment.c.id)).scalar_one()
    return StoredFile(int(aid), token)


def by_token(conn: Connection, token: str) -> Any:
    """The ``mom_attachment`` row of a public id, or None (also for anything not shaped like one)."""
    if not is_token(token):
        return None
    return conn.execute(sa.select(T.attachment).where(T.attachment.c.token == token)).first()


def rows_by_token(conn: Connection, tokens: Iterable[str]) -> dict[str, Any]:
    """``mom_attachment`` rows of several public ids, by token (unknown ones left out)."""
    wanted = sorted({t for t in tokens if is_token(t)})
    out: dict[str, Any] = {}
    for i in range(0, len(wanted), 500):
        for r in conn.execute(sa.select(T.attachment).where(T.attachment.c.token.in_(wanted[i:i + 500]))):
            out[r.token] = r
    return out


def add_links(conn: Connection, attachment_ids: Iterable[int], *, kind: str, name: str = "", ref_id: int,
              field: str = "") -> None:
    """Tie files to what they belong to (a record's field, a workflow instance, a report delivery)."""
    rows = [{"attachment_id": int(a), "kind": kind, "name": name, "ref_id": int(ref_id), "field": field}
            for a in dict.fromkeys(attachment_ids)]
    if rows:
        conn.execute(T.attachment_link.insert(), rows)


def links_of(conn: Connection, *, kind: str, name: str, ref_ids: Iterable[int]) -> list[Any]:
    """The links of the given owners (e.g. the records of one form)."""
    L = T.attachment_link
    ids = sorted({int(i) for i in ref_ids})
    out: list[Any] = []
    for i in range(0, len(ids), 500):
        out += conn.execute(sa.select(L).where(L.c.kind == kind, L.c.name == name, L.c.ref_id.in_(ids[i:i + 500]))).all()
    return out


def drop_links(conn: Connection, link_ids: Iterable[int]) -> None:
    ids = sorted({int(i) for i in link_ids})
    for i in range(0, len(ids), 500):
        conn.execute(T.attachment_link.delete().where(T.attachment_link.c.id.in_(ids[i:i + 500])))
