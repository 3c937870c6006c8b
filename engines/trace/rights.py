"""What a trace may show a reader: rows of a form as far as their read right and its row scope go."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.access import FormAccess, form_access
from mom.engines.records.context import Actor


def reader(conn: Connection, forms: Any, actor: Actor, name: str) -> tuple[Any, FormAccess] | None:
    """The compiled form ``name`` and the actor's access to it; None when the form is not installed."""
    try:
        compiled = forms.get(conn, name)
    except Exception:          # not installed (or retired): nothing of it to show
        return None
    return compiled, form_access(compiled, actor)


def visible_ids(conn: Connection, compiled: Any, access: FormAccess, ids: set[int]) -> set[int]:
    """Which of ``ids`` the actor may read (the form's read right and its row scope)."""
    if not ids or not access.can("read"):
        return set()
    scope = access.scope("read")
    if scope is None:
        return set(ids)
    t = compiled.main
    out: set[int] = set()
    wanted = sorted(ids)
    for i in range(0, len(wanted), 900):
        out |= {int(r[0]) for r in conn.execute(sa.select(t.c.id).where(t.c.id.in_(wanted[i:i + 900]), scope))}
    return out


def chunks(values: list[Any], n: int = 900) -> Any:
    for i in range(0, len(values), n):
        yield values[i:i + n]
