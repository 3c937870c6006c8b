"""An engine's own writes through the record service: the one mechanism the engines share.

An engine (stock, production, quality, equipment maintenance, devices) writes records people may not
write themselves — ``stock_move``, an inspection lot's verdict, ``machine_state`` — through the record
service like anyone, so audit, numbering and events stay the same. Its record hooks refuse those writes
from people and must let the engine's own pass. The engine marks them:

- :class:`EngineWrites` — one per engine, under the engine's own ``conn.info`` key, so each engine's hooks
  let only that engine's writes through: ``writes(conn)`` (a context manager; nests) and ``writing(conn)``;
- :func:`acting` — the :class:`Ctx` the engine writes as for the user whose own right was checked first;
- :func:`offered` — a form's actions less those only its engine performs (``RecordHooks.engine_only``: an
  administrator is offered no 新建 / 导入 on 库存流水 that would only end in a refusal).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx

#: the actions an engine may keep to itself (reading and exporting its records stay people's)
RESERVABLE = frozenset({"create", "import", "update", "delete"})


@dataclasses.dataclass(frozen=True)
class EngineWrites:
    """One engine's write flag, held in ``conn.info[key]`` (a depth count, so the marks nest)."""
    key: str

    @contextmanager
    def writes(self, conn: Connection) -> Iterator[None]:
        """Mark the writes inside as this engine's own (its hooks let them pass)."""
        conn.info[self.key] = conn.info.get(self.key, 0) + 1
        try:
            yield
        finally:
            conn.info[self.key] -= 1

    def writing(self, conn: Connection) -> bool:
        """Is this engine writing on ``conn`` right now (inside :meth:`writes`)?"""
        return bool(conn.info.get(self.key))


def acting(ctx: Ctx) -> Ctx:
    """The engine acting for ``ctx``'s user: the same person in the audit trail, allowed to write the
    engine's read-only fields and forms that the user's own rights do not reach. The user's own right
    (release an order, post a document, report a fault) is checked before."""
    return dataclasses.replace(ctx, actor=dataclasses.replace(ctx.actor, is_admin=True, token_forms=None))


def engine_only(conn: Connection, forms: Any, compiled: CompiledForm) -> frozenset[str]:
    """The actions on ``compiled`` only an engine performs, as the engines' record hooks say."""
    hooks = getattr(forms, "hooks", None)
    said = getattr(hooks, "engine_only", None)
    return frozenset(said(conn, compiled)) & RESERVABLE if said is not None else frozenset()


def offered(conn: Connection, forms: Any, compiled: CompiledForm, actions: frozenset[str]) -> frozenset[str]:
    """``actions`` (what the reader's permissions grant) less the ones only an engine performs."""
    return actions - engine_only(conn, forms, compiled) if actions & RESERVABLE else actions
