"""Reading one message's values: timestamps (epoch ms / s, ISO text), numbers (ints and floats read directly,
thousands a second), message ids as (stream, number), whole UTC minutes, and cumulative counters' deltas."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

UTC = dt.timezone.utc
MAX_KEY = 200
EPOCH_MIN, EPOCH_MAX = dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(v: Any) -> dt.datetime | None:
    """Epoch milliseconds (or seconds), an ISO text or a datetime, in UTC; anything else or out of range: None."""
    try:
        if isinstance(v, dt.datetime):
            out = v if v.tzinfo else v.replace(tzinfo=UTC)
        elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            x = float(v)
            out = dt.datetime.fromtimestamp(x / 1000 if abs(x) > 1e11 else x, UTC)
        elif isinstance(v, str) and 0 < len(v) <= 40:
            out = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            out = out if out.tzinfo else out.replace(tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return out.astimezone(UTC) if EPOCH_MIN <= out <= EPOCH_MAX else None


def timestamp(v: Any, fallback: dt.datetime) -> dt.datetime:
    """:func:`parse_time`, or ``fallback``."""
    out = parse_time(v)
    return fallback if out is None else out


BIG = 10 ** 17


def number(v: Any) -> Decimal | None:
    t = type(v)
    if t is int:                        # the common cases first (thousands a second)
        return Decimal(v) if -BIG < v < BIG else None
    if t is float:
        return Decimal(repr(v)) if -BIG < v < BIG else None   # (NaN and inf fail the comparison)
    if v is None or isinstance(v, bool):
        return None if v is None else Decimal(int(v))
    try:
        d = Decimal(str(v)) if not isinstance(v, Decimal) else v
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() and abs(d) < Decimal(10) ** 17 else None


def sequence(v: Any, stream: str) -> tuple[str, int | None]:
    """A message id → (stream, number): ``123`` or ``"123"``, or ``"<stream>:<number>"`` (a file and its line)."""
    if v is None or isinstance(v, bool):
        return stream, None
    if isinstance(v, int):
        return stream, v
    text = str(v)[:MAX_KEY]
    if text.startswith("spb:") and text.count(":") == 4:   # an older decoder key: spb:<device>:<bdSeq>:<ts>:<seq 0-255>
        parts = text.split(":")
        try:
            return f"{stream}:spb:{parts[1]}"[:MAX_KEY], int(parts[-2]) * 256 + int(parts[-1])
        except (ValueError, IndexError):
            return stream, None
    head, _, tail = text.rpartition(":")
    try:
        return (f"{stream}:{head}"[:MAX_KEY] if head else stream), int(tail)
    except ValueError:
        return stream, None


MINUTES: dict[int, dt.datetime] = {}


def minute(ts: dt.datetime) -> dt.datetime:
    """The whole UTC minute of ``ts`` (kept per minute: thousands of messages share one)."""
    key = int(ts.timestamp()) // 60
    m = MINUTES.get(key)
    if m is None:
        if len(MINUTES) > 10_000:
            MINUTES.clear()
        m = MINUTES[key] = ts.astimezone(UTC).replace(second=0, microsecond=0)
    return m


def delta(new: Decimal, old: Decimal | None, cmax: Decimal | None) -> Decimal:
    """A cumulative counter's increase: the first value seen is the base; a drop is a rollover past
    ``cmax`` (when set) or a reset to 0 (the new value counts from 0)."""
    if old is None:
        return Decimal(0)
    if new >= old:
        return new - old
    if cmax is not None and old <= cmax:
        return cmax - old + 1 + new
    return new
