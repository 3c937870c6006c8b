"""A single number from a report with categories: what a KPI card or a gauge shows.

A report grouped by 缺陷类型 answers one row per group; a KPI over it must not show one group's value
(the last row's) as if it were the whole. Unless the widget follows a ``trend`` (then it shows the
latest period, and the trend), the card shows the **overall** value: the report run again without its
categories — same source, filters, parameters and the caller's permissions — so that every measure is
re-aggregated from the source rows. A count or a sum is the total of the groups; an average, a
distinct count, a min/max or a ratio is the right overall figure, never an average of averages.

- a running total's overall value is the total of the measure it runs over;
- a share (``share_of``) over everything is always 100 %: refused with a message saying what to pick;
- a detail report (columns, no measures): the KPI shows the sum of the numeric column over its rows.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.forms.model import text_of
from mom.engines.reports.widgets import widget_name

SINGLE_VALUE = ("kpi", "gauge")
# what the report run without its categories keeps; the rest (top-N, pivot, sort, limit, summary table,
# schedules, chart) is about groups or about delivery
KEEP = ("format", "name", "label", "source", "params", "filters", "shifts", "max_scan_rows", "permissions")


def wants_overall(w: Mapping[str, Any], rep: Mapping[str, Any]) -> bool:
    """Whether widget ``w`` shows the overall value of report ``rep`` (rather than its rows as they are)."""
    if w.get("type") not in SINGLE_VALUE or w.get("trend"):
        return False
    return bool(rep.get("dimensions")) or (bool(rep.get("columns")) and not rep.get("measures"))


def problem(w: Mapping[str, Any], rep: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why the overall value of ``w``'s measure cannot be shown ((zh, en) saying what to do), else None."""
    if not wants_overall(w, rep):
        return None
    m = next((m for m in rep.get("measures", []) if m.get("key") == w.get("value")), None)
    if m is None or "share_of" not in m:
        return None
    wz, we = widget_name(w)
    label = text_of(m.get("label"), m["key"])
    return (f"{wz}显示全部数据的合计，「{label['zh-CN']}」是占比，合计总是 100%：请改选它所占的那个数值（如 记录数），"
            f"或在报表中去掉分类",
            f"the {we} shows the overall value, and \"{label['en']}\" is a share, always 100 % overall: pick the "
            f"number it is a share of, or remove the report's categories")


def overall_definition(w: Mapping[str, Any], rep: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Report ``rep`` without its categories, keeping only what ``w``'s value needs, and the key of the
    value in its answer."""
    out: dict[str, Any] = {k: rep[k] for k in KEEP if k in rep}
    key = str(w.get("value"))
    if not rep.get("measures"):      # a detail report: the column's sum over the rows
        col = next(c for c in rep.get("columns", []) if c.get("key") == key)
        m = {"key": key, "agg": "sum", "label": col.get("label") or key}
        m.update({k: col[k] for k in ("field", "expr") if k in col})
        out["measures"] = [m]
        return out, key
    by_key = {m["key"]: m for m in rep["measures"]}
    if "running_total" in by_key.get(key, {}):
        key = by_key[key]["running_total"]
    needed: list[str] = []

    def need(k: str) -> None:
        if k in needed or k not in by_key:
            return
        needed.append(k)
        for ref in by_key[k].get("ratio") or []:
            need(ref)

    need(key)
    out["measures"] = [by_key[k] for k in by_key if k in needed]
    return out, key
