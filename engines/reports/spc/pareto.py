"""Pareto: categories sorted by count with percent and cumulative percent."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def pareto(items: Iterable[tuple[Any, Any]], *, top: int | None = None, others_label: str = "其他") -> list[dict[str, Any]]:
    """(category, count) pairs -> sorted descending with percent and cumulative percent; past ``top``
    categories are folded into one "others" row at the end."""
    rows = sorted(((c, float(v or 0)) for c, v in items), key=lambda cv: (-cv[1], str(cv[0])))
    if top is not None and len(rows) > top:
        rest = sum(v for _, v in rows[top:])
        rows = rows[:top] + [(others_label, rest)]
    total = sum(v for _, v in rows)
    out, run = [], 0.0
    for c, v in rows:
        run += v
        out.append({"category": c, "value": v, "percent": v / total * 100 if total else 0.0,
                    "cumulative_percent": run / total * 100 if total else 0.0})
    return out
