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
- ``message_key``: a stable id of the message for exactly-once (MQTT: the publisher's message id in the
  payload, or ``None`` to let the mapping's ``message_id`` expression decide; CSV: ``<file>:<line>``).
  A key already applied for the same machine is skipped, so a redelivery or a replay never double-counts.

:class:`IngestReport` counts what one flush did (applied, duplicates, skipped malformed, unknown machine…).
Inside a caller's own transaction use :func:`apply_batch` ``(conn, forms, ctx, messages, *, source)``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mom.engines.records.context import Ctx


@dataclasses.dataclass(frozen=True)
class DeviceMessage:
    topic: str
    payload: Mapping[str, Any]
    received_at: dt.datetime
    message_key: str | None = None


@dataclasses.dataclass
class IngestReport:
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    malformed: int = 0
    unmapped: int = 0
    unknown_machine: int = 0
    states: int = 0
    counts: int = 0
    values: int = 0
    alarms: int = 0


def apply_batch(conn: Connection, forms: Any, ctx: Ctx, messages: Sequence[DeviceMessage], *,
                source: str = "mqtt") -> IngestReport:
    """Apply ``messages`` in the caller's transaction (cursor and data commit together)."""
    raise NotImplementedError


class DeviceIngest:
    """Buffers decoded messages and applies them per flush in one transaction."""

    def __init__(self, engine: Engine, forms: Any = None, *, source: str = "mqtt") -> None:
        self.engine, self.forms, self.source = engine, forms, source
        self.pending: list[DeviceMessage] = []

    def submit(self, topic: str, payload: Mapping[str, Any], received_at: dt.datetime,
               message_key: str | None = None) -> None:
        self.pending.append(DeviceMessage(topic, payload, received_at, message_key))

    def flush(self) -> IngestReport:
        raise NotImplementedError

    def ingest(self, topic: str, payload: Mapping[str, Any], received_at: dt.datetime,
               message_key: str | None = None) -> IngestReport:
        self.submit(topic, payload, received_at, message_key)
        return self.flush()
