"""Content-addressed file store for attachments and generated files (reports, prints): bytes live
under ``<data_dir>/attachments/<sha[:2]>/<sha>``, metadata in ``mom_attachment``. Writing the same
content twice keeps one file, so a retried job never leaves a second copy."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mom.platform.db import tables as T


def store_dir(settings: Any) -> Path:
    return Path(settings.data_dir) / "attachments"


def path_of(settings: Any, sha256: str) -> Path:
    return store_dir(settings) / sha256[:2] / sha256


def save_bytes(settings: Any, conn: Connection, data: bytes, *, filename: str, content_type: str,
               created_by: int | None) -> int:
    digest = hashlib.sha256(data).hexdigest()
    final = path_of(settings, digest)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(final)           # atomic: a crash leaves no half-written file under the final name
    return register(conn, digest, len(data), filename=filename, content_type=content_type, created_by=created_by)


def register(conn: Connection, sha256: str, size: int, *, filename: str, content_type: str, created_by: int | None) -> int:
    """The ``mom_attachment`` row for content already stored under ``path_of(sha256)``; returns its id."""
    return int(conn.execute(T.attachment.insert().values(
        sha256=sha256, size=size, filename=(filename or "file")[:255],
        content_type=(content_type or "application/octet-stream")[:200],
        created_at=dt.datetime.now(dt.timezone.utc), created_by=created_by).returning(T.attachment.c.id)).scalar_one())
