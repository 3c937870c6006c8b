"""Dashboard widgets in a supervisor's words: the Chinese name of each widget type and of each picker
("分类", "数值"), and the checks that a widget's configuration can render — a chart's numbers must come
from a number (a measure, or a numeric column of a detail report), never from a category such as 判定.
Also the value labels every chart shows (a pie with counts and percentages, bars with their values)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.forms.model import text_of
from mom.platform.errors import InvalidInput, ProblemList

TYPE_NAMES: dict[str, tuple[str, str]] = {
    "kpi": ("指标卡", "KPI card"), "bar": ("柱状图", "bar chart"), "stacked_bar": ("堆叠柱状图", "stacked bar chart"),
    "line": ("折线图", "line chart"), "pie": ("饼图", "pie chart"), "pareto": ("帕累托图", "Pareto chart"),
    "gauge": ("仪表盘", "gauge"), "scatter": ("散点图", "scatter chart"), "control_chart": ("控制图", "control chart"),
    "gantt": ("甘特图", "Gantt chart"), "table": ("表格", "table"), "text": ("文字", "text"),
}
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "x": ("分类", "category"), "y": ("数值", "value"), "value": ("数值", "value"), "series": ("系列", "series"),
    "trend": ("趋势", "trend"), "subgroup": ("子组", "subgroup"), "category": ("分类", "category"),
    "start": ("开始", "start"), "end": ("结束", "end"), "text": ("文字", "text"), "report": ("报表", "report"),
}
# the pickers whose column must hold numbers, per widget type
NUMERIC_ROLES: dict[str, tuple[str, ...]] = {
    "kpi": ("value",), "gauge": ("value",), "pie": ("value",), "pareto": ("value",), "control_chart": ("value",),
    "bar": ("y",), "stacked_bar": ("y",), "line": ("y",), "scatter": ("x", "y"),
}
NUMERIC_TYPES = frozenset({"integer", "decimal"})
CATEGORY_TYPES = frozenset({"text", "long_text", "select", "multi_select", "date", "datetime", "boolean", "user",
                            "department", "reference", "autonumber", "barcode"})


def type_name(t: str) -> tuple[str, str]:
    return TYPE_NAMES.get(t, (t, t))


def widget_name(w: Mapping[str, Any]) -> tuple[str, str]:
    """How a message names a widget: its title and its type, 「不良分布」饼图."""
    zh_t, en_t = type_name(str(w.get("type")))
    title = text_of(w.get("title") or "", "")
    if not title["zh-CN"]:
        return zh_t, en_t
    return f"「{title['zh-CN']}」{zh_t}", f"{en_t} \"{title['en']}\""


def _column_kinds(report: Mapping[str, Any], form: Any) -> dict[str, tuple[str, dict[str, str]]]:
    """Each column of ``report``: ("number" | "category" | "unknown", its label)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for d in report.get("dimensions", []):
        out[d["key"]] = ("category", text_of(d.get("label"), d["key"]))
    for m in report.get("measures", []):
        out[m["key"]] = ("number", text_of(m.get("label"), m["key"]))
    for c in report.get("columns", []):
        kind = "unknown"
        f = _field(form, c.get("field")) if "field" in c else None
        if f is not None:
            kind = "number" if f.value_type in NUMERIC_TYPES else "category"
        label = c.get("label") or (f.label if f is not None else None)
        out[c["key"]] = (kind, text_of(label, c["key"]))
    return out


def _field(form: Any, path: Any) -> Any:
    if form is None or not isinstance(path, str):
        return None
    head, _, rest = path.partition(".")
    f = form.definition.field(head)
    if f is not None and rest:
        f = f.child(rest) if f.is_table and "." not in rest else None
    return f


def check_numbers(w: Mapping[str, Any], at: str, report: Mapping[str, Any], form: Any, problems: ProblemList) -> None:
    """A picker that must give numbers (a pie's 数值, a bar's 数值 …) names a category: the chart would be
    empty, so it is an error naming the widget, the column and what to pick instead."""
    kinds = _column_kinds(report, form)
    numbers = [v[1]["zh-CN"] for v in kinds.values() if v[0] == "number"]
    hint_zh = f"请改选一个数值，如 {'、'.join(numbers[:3])}" if numbers else "请在报表中加一个指标（如 记录数）再选它"
    hint_en = "pick a number instead" if numbers else "add a measure (e.g. a record count) to the report and pick it"
    wz, we = widget_name(w)
    for role in NUMERIC_ROLES.get(str(w.get("type")), ()):
        picked = w.get(role)
        for j, key in enumerate(picked if isinstance(picked, list) else [picked] if picked is not None else []):
            kind, label = kinds.get(key, ("unknown", {}))
            if kind != "category":
                continue
            path = f"{at}/{role}/{j}" if isinstance(picked, list) else f"{at}/{role}"
            rz, re_ = ROLE_NAMES[role]
            problems.add(path, f"{wz}的{rz}「{label['zh-CN']}」是分类，不是数字，图上画不出来：{hint_zh}",
                         f"the {re_} of the {we} is \"{label['en']}\", a category, not a number: {hint_en}", "not_a_number")


def refuse_categories(w: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """A dashboard published before this check whose chart takes its numbers from a category: its card
    says why it is empty (InvalidInput, shown on the widget) instead of drawing nothing."""
    cols = {c["key"]: c for c in result.get("columns", [])}
    wz, we = widget_name(w)
    for role in NUMERIC_ROLES.get(str(w.get("type")), ()):
        picked = w.get(role)
        for key in picked if isinstance(picked, list) else [picked] if picked is not None else []:
            c = cols.get(key)
            if c and (c.get("kind") == "dimension" or (c.get("kind") == "column" and c.get("type") in CATEGORY_TYPES)):
                label = text_of(c.get("label"), key)
                rz, re_ = ROLE_NAMES[role]
                raise InvalidInput(f"{wz}的{rz}「{label['zh-CN']}」是分类，不是数字，图上画不出来：请在看板设计中改选一个数值",
                                   f"the {re_} of the {we} is \"{label['en']}\", a category, not a number: pick a number in the dashboard designer")


def value_labels(t: str, option: dict[str, Any]) -> dict[str, Any]:
    """Every chart shows its values: a pie its counts and percentages, bars and lines their numbers."""
    for s in option.get("series", []):
        if s.get("type") == "pie":
            # two short lines (name, then count and share) fit beside a small widget's pie without being cut
            s.setdefault("label", {"show": True, "formatter": "{b}\n{c}（{d}%）", "overflow": "none", "lineHeight": 16})
            s.setdefault("labelLine", {"length": 8, "length2": 8})
            option.setdefault("legend", {"bottom": 0, "type": "scroll"})
            option.setdefault("tooltip", {"trigger": "item", "formatter": "{b}：{c}（{d}%）"})
        elif s.get("type") == "bar" and "itemStyle" not in s:
            pos = "inside" if s.get("stack") else "top"
            s.setdefault("label", {"show": True, "position": pos})
        elif s.get("type") == "line" and t == "line":
            s.setdefault("label", {"show": True, "position": "top"})
    return option
