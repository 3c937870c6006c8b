"""One flush of device messages inside a transaction (:class:`Batch`): read each message through its mapping,
drop duplicates by the per-machine cursor, and write states, counts, process values (with vibration features
of waveforms) and alarms, then feed the condition rules. Entry point: :func:`mom.engines.devices.ingest.apply_batch`."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.devices import alarms as A
from mom.engines.devices import condition as K
from mom.engines.devices import condition_pm as CP
from mom.engines.devices import cursor as C
from mom.engines.devices import forms as F
from mom.engines.devices import mapping as M
from mom.engines.devices import readings as R
from mom.engines.devices import vibration as V
from mom.engines.devices import writes as W
from mom.engines.devices.caches import Caches
from mom.engines.devices.messages import DeviceMessage, IngestReport
from mom.engines.records.context import Ctx

log = logging.getLogger("mom.devices")
MAX_KEY = R.MAX_KEY
FUTURE = dt.timedelta(minutes=5)      # a device clock this far ahead is still believed


@dataclasses.dataclass
class _Read:
    msg: DeviceMessage
    mapping: M.MappingSpec
    names: dict[str, Any]
    machine: int | None = None
    code: str | None = None


class Batch:
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
        self.watched = K.watched(self.conn, self.forms, self.caches.conditions)
        self.watch: list[K.Sample] = []
        self.waved: set[int] = set()
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
        touched = set(self.waved)
        if samples and self.report.alarms:
            touched |= {s.machine for s in samples}
        if self.watch:
            if not self.caches.names:
                self.caches.read_machines(self.conn, self.forms)
            raised, moved = K.evaluate(self.conn, self.forms, self.ctx, self.watch, self.caches.names)
            self.report.alarms += raised
            touched |= moved
        if touched:        # health may have changed: condition-based PM plans of these machines
            CP.run(self.conn, self.forms, self.ctx, sorted(touched))
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
            if (r.machine, sp.tag) in self.watched:
                self.watch.append(K.Sample(r.machine, sp.tag, ts, float(v)))  # type: ignore[arg-type]
        if r.mapping.wave is not None:
            self._waveform(r, ts, aggs, samples)

    def _waveform(self, r: _Read, ts: dt.datetime, aggs: dict[tuple[int, str, dt.datetime], W.Agg],
                  samples: list[A.Sample]) -> None:
        """A waveform's vibration features as process values (one per feature); the RMS against ISO 10816 zone D."""
        wave = r.mapping.wave
        try:
            got = wave.read(r.names)  # type: ignore[union-attr]
        except V.WaveformProblem as exc:
            self._implausible(r, "waveform_expr", exc.zh, exc.en, message=False, kind="waveform")
            return
        if got is None:
            return
        self.waved.add(r.machine)  # type: ignore[arg-type]
        for tag, value in got.items():
            v = Decimal(repr(value)).quantize(W.Q6)
            unit = None if tag.endswith("_crest") else wave.unit  # type: ignore[union-attr]
            key = (r.machine, tag, R.minute(ts))
            a = aggs.get(key)
            if a is None:
                aggs[key] = W.Agg(v, unit)  # type: ignore[index]
            else:
                a.add(v)
            if (r.machine, tag) in self.watched:
                self.watch.append(K.Sample(r.machine, tag, ts, value))  # type: ignore[arg-type]
        spec = self.caches.zone_spec(wave)  # type: ignore[arg-type]
        if spec is not None:
            samples.append(A.Sample(r.machine, spec, ts, Decimal(repr(got[spec.tag])).quantize(W.Q6)))  # type: ignore[arg-type]

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
