"""A form's change plan told in a supervisor's words, for the pack plan: fields by their labels and
types by their Chinese names — not the table, column and index steps the form engine carries out
(those stay in the form's own plan, for IT)."""
from __future__ import annotations

from typing import Any

from mom.engines.packs.planner import label_of

Words = dict[str, str]

TYPES = {"text": ("文本", "text"), "long_text": ("长文本", "long text"), "integer": ("整数", "integer"),
         "decimal": ("小数", "decimal"), "boolean": ("是/否", "yes/no"), "date": ("日期", "date"),
         "datetime": ("日期时间", "date and time"), "select": ("单选", "choice"), "multi_select": ("多选", "multiple choice"),
         "reference": ("关联", "link"), "user": ("人员", "person"), "department": ("部门", "department"),
         "attachment": ("附件", "attachment"), "file": ("文件", "file"), "autonumber": ("自动编号", "auto number"),
         "barcode": ("条码", "barcode"), "table": ("明细表", "detail table"), "formula": ("公式", "formula")}

#: steps a supervisor need not read: indexes, metadata-only changes (the merge lines already say them)
QUIET = {"create_index", "drop_index", "update_metadata", "move_field"}


def _fields(*defs: Any) -> dict[str, dict[str, Any]]:
    """field id -> field, over every definition given (the new one wins), child tables included."""
    out: dict[str, dict[str, Any]] = {}
    for raw in reversed([d for d in defs if isinstance(d, dict)]):
        for f in raw.get("fields") or []:
            if isinstance(f, dict) and f.get("id"):
                out[str(f["id"])] = f
                for g in f.get("fields") or [] if f.get("type") == "table" else []:
                    if isinstance(g, dict) and g.get("id"):
                        out[str(g["id"])] = g
    return out


def _type(f: dict[str, Any] | None, lang: int) -> str:
    t = (f or {}).get("type")
    t = (f or {}).get("result_type") or t if t == "formula" else t
    return TYPES.get(str(t), (str(t), str(t)))[lang]


def describe(operations: list[Any], new: Any, old: Any = None) -> list[Words]:
    """One line per step a person cares about, in words (``operations``: the form plan's)."""
    fields = _fields(new, old)
    form = label_of(new, (new or {}).get("name", "") if isinstance(new, dict) else "")
    out: list[Words] = []
    for op in operations:
        kind = getattr(op, "kind", "")
        if kind in QUIET:
            continue
        f = fields.get(str(getattr(op, "field_id", "") or ""))
        if kind == "create_table" and f is None and "__" in str(getattr(op, "table", "") or ""):
            key = str(op.table).rsplit("__", 1)[1]      # a new form's child table: <form>__<table key>
            f = next((x for x in fields.values() if x.get("type") == "table" and x.get("key") == key), None)
        lab = label_of(f, getattr(op, "field_id", None) or "")
        if getattr(op, "safety", "") == "blocked":
            out.append({"zh-CN": op.describe("zh-CN"), "en": op.describe("en")})
        elif kind == "create_table" and (f is None or f.get("type") != "table"):
            names = [label_of(x, x.get("key", "")) for x in (new or {}).get("fields") or [] if isinstance(x, dict) and x.get("type") != "table"]
            out.append({"zh-CN": f"新建表单「{form['zh-CN']}」：" + "、".join(n["zh-CN"] for n in names),
                        "en": f"new form “{form['en']}”: " + ", ".join(n["en"] for n in names)})
        elif kind == "create_table":
            names = [label_of(x, x.get("key", "")) for x in f.get("fields") or [] if isinstance(x, dict)]
            out.append({"zh-CN": f"新增明细表「{lab['zh-CN']}」：" + "、".join(n["zh-CN"] for n in names),
                        "en": f"new detail table “{lab['en']}”: " + ", ".join(n["en"] for n in names)})
        elif kind == "add_column":
            out.append({"zh-CN": f"新增字段「{lab['zh-CN']}」（{_type(f, 0)}）", "en": f"new field “{lab['en']}” ({_type(f, 1)})"})
        elif kind == "convert_column":
            out.append({"zh-CN": f"字段「{lab['zh-CN']}」的类型改为{_type(f, 0)}，已有数据随之转换",
                        "en": f"field “{lab['en']}” becomes {_type(f, 1)}; existing data is converted"})
        elif kind in ("rename_column", "rename_table"):
            out.append({"zh-CN": f"「{lab['zh-CN']}」换了内部名称（数据保留）", "en": f"“{lab['en']}” gets another internal name (data kept)"})
        elif kind in ("retire_column", "retire_table"):
            out.append({"zh-CN": f"停用「{lab['zh-CN']}」（数据保留，可恢复）", "en": f"retires “{lab['en']}” (data kept, restorable)"})
        elif kind in ("restore_column", "restore_table"):
            out.append({"zh-CN": f"恢复「{lab['zh-CN']}」及其数据", "en": f"restores “{lab['en']}” with its data"})
        elif kind == "require_field":
            out.append({"zh-CN": f"字段「{lab['zh-CN']}」改为必填", "en": f"field “{lab['en']}” becomes required"})
        elif kind == "backfill":
            out.append({"zh-CN": f"为已有记录填上字段「{lab['zh-CN']}」的值", "en": f"fills field “{lab['en']}” in existing records"})
        else:
            out.append({"zh-CN": op.describe("zh-CN"), "en": op.describe("en")})
    return out
