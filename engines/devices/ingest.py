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

import datetime as dt
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.devices.batch import Batch
from mom.engines.devices.caches import Caches
from mom.engines.devices.messages import DeviceMessage, IngestReport
from mom.engines.records.context import SYSTEM, Ctx

__all__ = ["SOURCES", "Caches", "DeviceIngest", "DeviceMessage", "IngestReport", "apply_batch"]
log = logging.getLogger("mom.devices")
UTC = dt.timezone.utc
SOURCES = ("mqtt", "sparkplug", "csv", "manual", "simulator")


def apply_batch(conn: Connection, forms: Any, ctx: Ctx, messages: Sequence[DeviceMessage], *,
                source: str = "mqtt", caches: Caches | None = None) -> IngestReport:
    """Apply ``messages`` in the caller's transaction (cursor and data commit together)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    return Batch(conn, forms, ctx, caches or Caches(), source).run(messages)


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
