"""What the ingestion engine takes and gives: one decoded device message (:class:`DeviceMessage`) and the
counts of one flush (:class:`IngestReport`). See :mod:`mom.engines.devices.ingest`."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any


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
