"""Device data ingestion (设备数据采集, issue 23): one decoded device message in, machine states / counts /
process values / alarms out, through the plant's ``device_mapping`` records.

Public entry point (called by the MQTT consumer, the CSV-folder watcher and the Sparkplug B path):

.. code-block:: python

    from mom.engines.devices.ingest import DeviceIngest

    ingest = DeviceIngest(engine, forms, source="csv")       # source: mqtt | sparkplug | csv | simulator
    ingest.submit(topic, payload, received_at, message_key)  # queue one decoded message (cheap, no I/O)
    report = ingest.flush()                                   # apply the queue in ONE transaction
    # or, for one message at a time (a CSV row, a test):
    report = ingest.ingest(topic, payload, received_at, message_key)   # submit + flush

- ``topic``: the MQTT topic (or a pseudo-topic such as ``csv/<folder>/<file>``, or the Sparkplug device key
  ``spBv1.0/<group>/DDATA/<edge>/<device>``); mappings match it with MQTT wildcards ``+`` / ``#``;
- ``payload``: the decoded message, a ``Mapping[str, Any]`` (JSON object; Sparkplug: the decoder's dict
  ``{"timestamp_ms", "seq", "metrics": {...}, "type"}``);
- ``received_at``: timezone-aware UTC arrival time (the mapping's timestamp expression may override it);
- ``message_key``: used when the mapping has no 消息号表达式 ``message_id_expr`` (which wins): ``123``,
  ``"<stream>:<number>"`` (CSV: ``<file>:<line>``; the Sparkplug decoder's ``spb:<device>:<number>``). Per machine and stream, a number not above the cursor's is a duplicate
  (unless the mapping reads device timestamps and this one is newer: a device that restarted its numbering),
  so a redelivery or a replay never double-counts. Anything else: not de-duplicated (counters still are
  cumulative, so a repeated message adds nothing unless it is older than the last one seen).

``flush(batch)`` applies a given list of :class:`DeviceMessage` instead of the queue. A message the database
refuses is skipped alone (logged, counted malformed); the database being unreachable raises
``sqlalchemy.exc.OperationalError`` with nothing written (the caller keeps the batch and retries).

:class:`IngestReport` counts what one flush did (applied, duplicates, skipped malformed, unknown machine…).
Inside a caller's own transaction use :func:`apply_batch` ``(conn, forms, ctx, messages, *, source)``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.devices import alarms as A
from mom.engines.devices import cursor as C
from mom.engines.devices import forms as F
from mom.engines.devices import mapping as M
from mom.engines.devices import readings as R
from mom.engines.devices import writes as W
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import load_children

log = logging.getLogger("mom.devices")
UTC = dt.timezone.utc
SOURCES = ("mqtt", "sparkplug", "csv", "manual", "simulator")
MAX_KEY = R.MAX_KEY
FUTURE = dt.timedelta(minutes=5)      # a device clock this far ahead is still believed


@dataclasses.dataclass(frozen=True)
class DeviceMessage:
    topic: str
    payload: Mapping[str, Any]
    received_at: dt.datetime
    message_key: str | None = None


@dataclasses.dataclass
class IngestReport:
    """What one flush did. ``applied``: messages that changed something or were read (not duplicates)."""
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    malformed: int = 0
    unmapped: int = 0
    unknown_machine: int = 0
    implausible: int = 0
    states: int = 0
    counts: int = 0
    values: int = 0
    alarms: int = 0
    lag_s: list[float] = dataclasses.field(default_factory=list, repr=False)

    def add(self, other: "IngestReport") -> None:
        for f in dataclasses.fields(self):
            if f.name != "lag_s":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


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


@dataclasses.dataclass
class _Read:
    msg: DeviceMessage
    mapping: M.MappingSpec
    names: dict[str, Any]
    machine: int | None = None
    code: str | None = None


class _Batch:
    def __init__(self, conn: Connection, forms: Any, ctx: Ctx, caches: Caches, source: str) -> None:
        self.conn, self.forms, self.ctx, self.caches, self.source = conn, forms, ctx, caches, source
        self.report = IngestReport()
        self.unknown: dict[str, tuple[str, int]] = {}

    def _bad(self, msg: DeviceMessage, why: str) -> None:
        self.report.malformed += 1
        log.warning("device message on %s skipped: %s", msg.topic[:200], why)

    def read(self, messages: Sequence[DeviceMessage]) -> list[_Read]:
        out: list[_Read] = []
        for msg in messages:
            if not isinstance(msg.payload, Mapping):
                self._bad(msg, "payload is not an object")
                continue
            m = self.caches.mapping_for(msg.topic)
            if m is None:
                self.report.unmapped += 1
                self._unknown(f"topic:{msg.topic}"[:MAX_KEY], msg.topic)
                continue
            names = {"payload": msg.payload, "topic": msg.topic, "segments": msg.topic.split("/")}
            r = _Read(msg, m, names, machine=m.machine_id)
            if r.machine is None:
                code = m.value("machine_expr", names)
                if code is None or isinstance(code, (dict, list)) or str(code).strip() == "":
                    self.report.malformed += 1         # a broken mapping: once per mapping, in `mom devices status`
                    self._unknown(f"mapping:{m.code}"[:MAX_KEY], msg.topic)
                    continue
                r.code = str(code).strip()[:100]
            out.append(r)
        missing = {r.code for r in out if r.machine is None and r.code not in self.caches.machines}
        age = time.monotonic() - self.caches.machines_read
        if (missing and age > 5) or age > 60:         # a new machine within seconds; a renamed one within a minute
            self.caches.read_machines(self.conn, self.forms)
        kept = []
        for r in out:
            if r.machine is None:
                r.machine = self.caches.machines.get(r.code or "")
                if r.machine is None:
                    self.report.unknown_machine += 1
                    self._unknown(f"machine:{r.code}"[:MAX_KEY], r.msg.topic)
                    continue
            kept.append(r)
        return kept

    def _unknown(self, key: str, topic: str) -> None:
        t, n = self.unknown.get(key, (topic, 0))
        self.unknown[key] = (t, n + 1)

    def run(self, messages: Sequence[DeviceMessage]) -> IngestReport:
        self.report.messages = len(messages)
        self.caches.refresh(self.conn, self.forms)
        reads = self.read(messages)
        prepared = []
        for r in reads:
            ts_src = r.mapping.value("timestamp_expr", r.names) if "timestamp_expr" in r.mapping.exprs else None
            ts = R.parse_time(ts_src) if ts_src is not None else r.msg.received_at
            lo = self.ctx.now - dt.timedelta(days=r.mapping.max_age_days)
            if ts is None or not lo <= ts <= self.ctx.now + FUTURE:
                self._implausible(r, "timestamp_expr", f"报文时间 {str(ts_src)[:40]} 不可信（只收 {r.mapping.max_age_days} 天内、"
                                  "不晚于现在 5 分钟的时间），整条消息不收",
                                  f"the message time {str(ts_src)[:40]} is implausible (only the last "
                                  f"{r.mapping.max_age_days} days up to 5 minutes ahead); the message is refused")
                continue
            has_id = "message_id_expr" in r.mapping.exprs
            raw_id = r.mapping.value("message_id_expr", r.names) if has_id else r.msg.message_key
            stream, seq = R.sequence(raw_id, r.mapping.code)
            if has_id and raw_id is not None and (seq is None or seq < 0):
                self._implausible(r, "message_id_expr", f"消息号 {str(raw_id)[:40]} 不是非负整数，整条消息不收",
                                  f"the message id {str(raw_id)[:40]} is not a whole number of 0 or more; the message is refused")
                continue
            prepared.append((r, ts, stream, seq))
        cursors = C.load(self.conn, {(r.machine, stream) for r, _, stream, _ in prepared})  # type: ignore[misc]
        states: dict[int, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
        counts: dict[tuple[int, dt.datetime], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
        aggs: dict[tuple[int, str, dt.datetime], W.Agg] = {}
        samples: list[A.Sample] = []
        for r, ts, stream, seq in prepared:
            cur = cursors[(r.machine, stream)]  # type: ignore[index]
            if seq is not None and cur.seq is not None and seq <= cur.seq and (
                    "timestamp_expr" not in r.mapping.exprs or cur.last_at is None or ts <= cur.last_at):
                self.report.duplicates += 1      # redelivered or replayed (a restarted device: a newer time)
                continue
            self.report.applied += 1
            self.report.lag_s.append((self.ctx.now - r.msg.received_at).total_seconds())
            cur.seq, cur.dirty = (seq if seq is not None else cur.seq), True
            cur.last_at = ts if cur.last_at is None or ts > cur.last_at else cur.last_at
            self._state(r, ts, states)
            self._counters(r, ts, cur, counts)
            self._values(r, ts, aggs, samples)
        fm = F.require(self.conn, self.forms, F.STATE), F.require(self.conn, self.forms, F.COUNT)
        self.report.states = W.apply_states(self.conn, self.forms, self.ctx, fm[0], states, self.source)
        self.report.counts = W.add_counts(self.conn, self.forms, self.ctx, fm[1], counts)
        if aggs:
            self.report.values = W.add_values(self.conn, self.forms, self.ctx, F.require(self.conn, self.forms, F.VALUE), aggs)
        if samples:
            if not self.caches.names:
                self.caches.read_machines(self.conn, self.forms)
            self.report.alarms = A.check(self.conn, self.forms, self.ctx, F.require(self.conn, self.forms, F.ALARM), samples,
                                         self.caches.names)
        C.save(self.conn, cursors.values(), self.ctx.now)
        self._report_unknown()
        return self.report

    def _implausible(self, r: _Read, key: str, zh: str, en: str, *, message: bool = True, kind: str = "") -> None:
        """A value that cannot be true: counted; logged once per machine, mapping and field (zh + en)."""
        self.report.implausible += 1
        if message:
            self.report.malformed += 1
        fzh, fen = M.EXPRESSIONS[key]
        who = r.code or str(r.machine)
        self.caches._once(f"implausible:{r.machine}:{r.mapping.code}:{key}:{kind}",
                          "设备数据：设备 %s（映射 %s）的「%s」：%s；同类问题不再逐条记录 / device data: machine %s (mapping %s), %s: %s; "
                          "further ones are not logged", who, r.mapping.code, fzh, zh, who, r.mapping.code, fen, en)

    def _state(self, r: _Read, ts: dt.datetime, states: dict[int, list[tuple[dt.datetime, str, str]]]) -> None:
        if "state_expr" not in r.mapping.exprs:
            return
        st = r.mapping.value("state_expr", r.names)
        if st is None:
            return
        st = str(st).strip().lower()
        if st not in M.STATES:
            self.caches._once(f"state:{r.mapping.code}:{st[:40]}", "mapping %s gave the state %r, not one of %s",
                              r.mapping.code, st[:40], ", ".join(M.STATES))
            return
        src = "sparkplug" if r.mapping.format == "sparkplug_b" and self.source == "mqtt" else self.source
        states[r.machine].append((ts, st, src))  # type: ignore[index]

    def _counters(self, r: _Read, ts: dt.datetime, cur: C.Cursor, counts: dict[tuple[int, dt.datetime], list[Decimal]]) -> None:
        ex = r.mapping.exprs
        if not ("total_expr" in ex or "good_expr" in ex or "scrap_expr" in ex):
            return
        d: dict[str, Decimal | None] = {}
        for key, attr in (("total_expr", "total"), ("good_expr", "good"), ("scrap_expr", "scrap")):
            raw = r.mapping.value(key, r.names) if key in ex else None
            v = R.number(raw)
            d[attr] = None
            if v is None or v < 0:
                if raw is not None and raw != "":
                    self._implausible(r, key, f"计数 {str(raw)[:40]} 不是 0 或正的有限数，不计", f"the count {str(raw)[:40]} "
                                      "is not a finite number of 0 or more; not counted", message=False)
                continue
            step = R.delta(v, getattr(cur, attr), r.mapping.counter_max)
            setattr(cur, attr, v)
            if step > r.mapping.max_count_step:
                self._implausible(r, key, f"一条消息增加 {step}，超过上限 {r.mapping.max_count_step}，不计（以新值为起点）",
                                  f"a rise of {step} in one message is above the limit of {r.mapping.max_count_step}; "
                                  "not counted (the new value is the base)", message=False, kind="step")
                continue
            d[attr] = step
        tot, good, scrap = d["total"], d["good"], d["scrap"]
        if tot is None and good is not None:
            tot = good + (scrap or 0)
        if tot is None:
            return
        if scrap is None:
            scrap = tot - good if good is not None else Decimal(0)
        if good is None:
            good = tot - scrap
        bucket = counts[(r.machine, R.minute(ts))]  # type: ignore[index]
        bucket[0] += tot
        bucket[1] += good
        bucket[2] += scrap

    def _values(self, r: _Read, ts: dt.datetime, aggs: dict[tuple[int, str, dt.datetime], W.Agg],
                samples: list[A.Sample]) -> None:
        for sp in r.mapping.tags:
            v = R.number(sp.expr.run(r.names))
            if v is None:
                continue
            key = (r.machine, sp.tag, R.minute(ts))
            a = aggs.get(key)
            if a is None:
                aggs[key] = W.Agg(v, sp.unit)  # type: ignore[index]
            else:
                a.add(v)
            if sp.high is not None or sp.low is not None:
                samples.append(A.Sample(r.machine, sp, ts, v))  # type: ignore[arg-type]

    def _report_unknown(self) -> None:
        """An unknown machine or unmapped topic: one warning and one notice the first time ever, then only counted."""
        for key in C.record_unknown(self.conn, self.unknown, self.ctx.now):
            kind, _, what = key.partition(":")
            if kind == "mapping":
                zh = (f"设备数据：映射 {what} 的「设备编号表达式」从主题 {self.unknown[key][0][:200]} 取不到设备编号，"
                      "这些消息不收：请改正映射（如 segments[2] 表示主题第 3 级）")
                en = (f"device data: the machine code expression of mapping {what} gives no machine code for the topic "
                      f"{self.unknown[key][0][:200]}; those messages are skipped: correct the mapping")
            elif kind == "machine":
                zh = f"设备数据：未知设备编号「{what}」（主题 {self.unknown[key][0][:200]}）：请在设备档案中建立该设备，或改正映射"
                en = f"device data: unknown machine code {what}: add the machine or correct the mapping"
            else:
                zh = f"设备数据：主题 {what[:200]} 没有匹配的设备数据映射：请新建映射，或不再发布到该主题"
                en = f"device data: no device mapping matches the topic {what[:200]}"
            log.warning("%s / %s", zh, en)
            A.notify(self.conn, self.ctx, "device_unknown", zh, en, f"/f/{F.MAPPING}")


def apply_batch(conn: Connection, forms: Any, ctx: Ctx, messages: Sequence[DeviceMessage], *,
                source: str = "mqtt", caches: Caches | None = None) -> IngestReport:
    """Apply ``messages`` in the caller's transaction (cursor and data commit together)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    return _Batch(conn, forms, ctx, caches or Caches(), source).run(messages)


class DeviceIngest:
    """Buffers decoded messages and applies them per flush in one transaction (thread-safe ``submit``)."""

    def __init__(self, engine: Engine, forms: Any = None, *, source: str = "mqtt", tz: dt.tzinfo = UTC) -> None:
        if forms is None:
            from mom.engines.forms.store import FormRegistry
            forms = FormRegistry()
        self.engine, self.forms, self.source, self.tz = engine, forms, source, tz
        self.pending: list[DeviceMessage] = []
        self.caches = Caches()
        self.lock = threading.Lock()
        self.totals = IngestReport()

    def submit(self, topic: str, payload: Mapping[str, Any], received_at: dt.datetime,
               message_key: str | None = None) -> None:
        with self.lock:
            self.pending.append(DeviceMessage(topic, payload, received_at, message_key))

    def take(self) -> list[DeviceMessage]:
        with self.lock:
            batch, self.pending = self.pending, []
        return batch

    def flush(self, batch: Sequence[DeviceMessage] | None = None) -> IngestReport:
        """Apply the queue (or ``batch``) in ONE transaction; on failure nothing of it is written and the error
        is raised (the MQTT consumer then does not acknowledge, so the broker delivers the messages again)."""
        from mom.platform.db.engine import write_tx    # (platform.db is below the engines' layer)
        batch = self.take() if batch is None else batch
        if not batch:
            return IngestReport()
        ctx = Ctx(actor=SYSTEM, now=dt.datetime.now(UTC), tz=self.tz)
        try:
            with write_tx(self.engine) as conn:
                rep = apply_batch(conn, self.forms, ctx, batch, source=self.source, caches=self.caches)
        except (sa.exc.DataError, sa.exc.IntegrityError, ArithmeticError, ValueError, TypeError) as exc:
            if len(batch) == 1:
                log.warning("device message on %s skipped: %s", batch[0].topic[:200], str(exc)[:300])
                rep = IngestReport(messages=1, malformed=1)
            else:       # one message the database refuses must not stop the stream: each on its own
                rep = IngestReport()
                for m in batch:
                    rep.add(self.flush([m]))
                return rep
        self.totals.add(rep)
        return rep

    def ingest(self, topic: str, payload: Mapping[str, Any], received_at: dt.datetime,
               message_key: str | None = None) -> IngestReport:
        self.submit(topic, payload, received_at, message_key)
        return self.flush()
