"""What a device consumer keeps between flushes (:class:`Caches`): the compiled device mappings (re-read when
one is saved), the topic → mapping choice, machine codes → ids, and what it has already reported."""
from __future__ import annotations

import logging
import math
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as F
from mom.engines.devices import mapping as M
from mom.engines.devices import vibration as V
from mom.engines.records.service import load_children

log = logging.getLogger("mom.devices")


class Caches:
    """What a consumer keeps between flushes: the compiled mappings (re-read when one is saved), the topic →
    mapping choice, machine codes → ids, and what it has already reported (unknown machines, bad expressions)."""

    def __init__(self) -> None:
        self.signature: tuple[Any, ...] | None = None
        self.mappings: list[M.MappingSpec] = []
        self.by_topic: dict[str, M.MappingSpec | None] = {}
        self.machines: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.machines_read = -math.inf
        self.reported: set[str] = set()
        self.zones: dict[tuple[Any, ...], M.TagSpec] = {}
        self.conditions: dict[str, Any] = {}      # the condition rules' watched (machine, tag) pairs (condition.watched)

    def refresh(self, conn: Connection, forms: Any) -> None:
        compiled = F.require(conn, forms, F.MAPPING)
        t = compiled.main
        live = sa.and_(t.c.deleted_at.is_(None), t.c.active.is_(True))
        sig = tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.updated_at), sa.func.sum(t.c.row_version),
                                           sa.func.max(t.c.id)).where(t.c.deleted_at.is_(None))).one()) + (compiled.version,)
        if sig == self.signature:
            return
        rows = [dict(r) for r in conn.execute(sa.select(t).where(live)).mappings()]
        tags = load_children(conn, compiled, [int(r["id"]) for r in rows], ["tags"]) if rows else {}
        specs = []
        for r in rows:
            try:
                specs.append(M.build(r, tags[int(r["id"])]["tags"]))
            except Exception as exc:     # saved before a check existed, or edited in the database: skip, say so once
                self._once(f"mapping:{r['id']}", "设备数据映射 %s 无法使用，请改正后保存：%s / device mapping %s cannot be used: %s",
                           r.get("code"), str(exc)[:300], r.get("code"), str(exc)[:300])
        specs.sort(key=lambda m: (-m.priority, m.id))
        self.mappings, self.by_topic, self.signature = specs, {}, sig

    def mapping_for(self, topic: str) -> M.MappingSpec | None:
        if topic in self.by_topic:
            return self.by_topic[topic]
        found = next((m for m in self.mappings if m.regex.match(topic)), None)
        if len(self.by_topic) > 50_000:
            self.by_topic.clear()
        self.by_topic[topic] = found
        return found

    def zone_spec(self, wave: V.WaveSpec) -> M.TagSpec | None:
        """The alarm limit of a waveform's RMS: ISO 10816 zone D (C/D boundary), cleared back in zone B."""
        if wave.iso_class is None or wave.iso_class not in V.ISO_10816:
            return None
        key = (wave.tag, wave.iso_class, wave.action, wave.unit)
        spec = self.zones.get(key)
        if spec is None:
            _, bc, cd = V.ISO_10816[wave.iso_class]
            spec = self.zones[key] = M.TagSpec(f"{wave.tag}_rms", wave.samples, wave.unit, None, Decimal(str(cd)),
                                               Decimal(str(cd)) - Decimal(str(bc)), wave.action)
        return spec

    def read_machines(self, conn: Connection, forms: Any) -> None:
        t = forms.get(conn, "machine").main
        rows = conn.execute(sa.select(t.c.id, t.c.code, t.c.name).where(t.c.deleted_at.is_(None))).all()
        self.machines = {str(code): int(i) for i, code, _ in rows}
        self.names = {int(i): f"{code} {name}" for i, code, name in rows}
        self.machines_read = time.monotonic()

    def _once(self, key: str, msg: str, *args: Any) -> bool:
        if key in self.reported:
            return False
        self.reported.add(key)
        log.warning(msg, *args)
        return True
