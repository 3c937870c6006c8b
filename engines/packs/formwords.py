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


def describe(operations: list[Any], new: Any, old: Any = None, *, metadata: bool = False) -> list[Words]:
    """One line per step a person cares about, in words (``operations``: the form plan's). With
    ``metadata``, what changes without touching the table too (a field renamed, made required …: the
    form designer's plan; the pack plan's merge lines already say these)."""
    fields = _fields(new, old)
    form = label_of(new, (new or {}).get("name", "") if isinstance(new, dict) else "")
    out: list[Words] = []
    for op in operations:
        kind = getattr(op, "kind", "")
        if kind == "update_metadata" and metadata:
            out.extend(_metadata_words(new, old))
            continue
        if kind in QUIET:
            continue
        f = fields.get(str(getattr(op, "field_id", "") or ""))
        if kind == "create_table" and f is None and "__" in str(getattr(op, "table", "") or ""):
            key = str(op.table).rsplit("__", 1)[1]      # a new form's child table: <form>__<table key>
            f = next((x for x in fields.values() if x.get("type") == "table" and x.get("key") == key), None)
        lab = label_of(f, getattr(op, "field_id", None) or "")
        if getattr(op, "safety", "") == "blocked":
            out.append(_blocked(kind, lab, f, getattr(op, "detail", None) or {}) or {"zh-CN": op.describe("zh-CN"), "en": op.describe("en")})
        elif kind == "create_table" and (f is None or f.get("type") != "table"):
            names = [label_of(x, x.get("key", "")) for x in (new or {}).get("fields") or [] if isinstance(x, dict) and x.get("type") != "table"]
            out.append({"zh-CN": f"新建表单「{form['zh-CN']}」，{len(names)} 个字段：" + "、".join(n["zh-CN"] for n in names),
                        "en": f"new form “{form['en']}”, {len(names)} fields: " + ", ".join(n["en"] for n in names)})
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
            out.append(_retire(kind, lab, (getattr(op, "detail", None) or {}).get("rows")))
        elif kind in ("restore_column", "restore_table"):
            out.append({"zh-CN": f"恢复「{lab['zh-CN']}」及其数据", "en": f"restores “{lab['en']}” with its data"})
        elif kind == "require_field":
            out.append({"zh-CN": f"字段「{lab['zh-CN']}」改为必填", "en": f"field “{lab['en']}” becomes required"})
        elif kind == "backfill":
            out.append({"zh-CN": f"为已有记录填上字段「{lab['zh-CN']}」的值", "en": f"fills field “{lab['en']}” in existing records"})
        else:
            out.append({"zh-CN": op.describe("zh-CN"), "en": op.describe("en")})
    return out


def _retire(kind: str, lab: Words, rows: Any) -> Words:
    what_zh, what_en = ("明细表", "detail table") if kind == "retire_table" else ("字段", "field")
    # 停用, the word the publish dialog's confirmation uses: the engine retires (hides and keeps), never deletes
    if isinstance(rows, int) and rows > 0:
        return {"zh-CN": f"停用{what_zh}「{lab['zh-CN']}」：已有 {rows} 条记录的该{what_zh}数据将隐藏并保留，可随时恢复",
                "en": f"retires {what_en} “{lab['en']}”: its data in {rows} existing records is hidden and kept, restorable"}
    return {"zh-CN": f"停用{what_zh}「{lab['zh-CN']}」（数据保留，可恢复）", "en": f"retires {what_en} “{lab['en']}” (data kept, restorable)"}


#: field properties by the name a supervisor knows them by
PROPS = {"required": ("必填", "required"), "unique": ("不可重复", "unique"), "read_only": ("只读", "read-only"),
         "hidden": ("隐藏", "hidden"), "options": ("选项", "options"), "default": ("默认值", "default"),
         "help": ("填写说明", "help"), "min": ("最小值", "minimum"), "max": ("最大值", "maximum"),
         "max_length": ("最大长度", "maximum length"), "regex": ("格式要求", "format"), "formula": ("公式", "formula"),
         "pattern": ("编号规则", "numbering"), "form": ("关联表单", "linked form"), "display_field": ("显示字段", "display field"),
         "precision": ("精度", "precision"), "scale": ("小数位数", "decimal places"), "result_type": ("结果类型", "result type"),
         "ui": ("显示方式", "display")}
PARTS = {"rules": ("校验规则", "rules"), "permissions": ("权限", "permissions"), "display_field": ("显示字段", "display field"),
         "ui": ("布局", "layout"), "description": ("说明", "description"), "states": ("状态", "states")}


def _metadata_words(new: Any, old: Any) -> list[Words]:
    """Labels and settings that changed, field by field (by id: a renamed label keeps its data)."""
    if not isinstance(new, dict) or not isinstance(old, dict):
        return []
    out: list[Words] = []
    was, now = label_of(old, old.get("name", "")), label_of(new, new.get("name", ""))
    if was["zh-CN"] != now["zh-CN"]:
        out.append({"zh-CN": f"表单「{was['zh-CN']}」改名为「{now['zh-CN']}」", "en": f"form “{was['en']}” renamed “{now['en']}”"})
    before = _fields(old)
    for fid, f in _fields(new).items():
        o = before.get(fid)
        if o is None:
            continue
        a, b = label_of(o, str(o.get("key", ""))), label_of(f, str(f.get("key", "")))
        if a["zh-CN"] != b["zh-CN"]:
            out.append({"zh-CN": f"字段「{a['zh-CN']}」改名为「{b['zh-CN']}」，数据保留",
                        "en": f"field “{a['en']}” renamed “{b['en']}”, data kept"})
        props = [PROPS[k] for k in PROPS if o.get(k) != f.get(k)]
        if props:
            out.append({"zh-CN": f"字段「{b['zh-CN']}」的设置有变化：" + "、".join(p[0] for p in props),
                        "en": f"field “{b['en']}” settings change: " + ", ".join(p[1] for p in props)})
    parts = [PARTS[k] for k in PARTS if old.get(k) != new.get(k)]
    if parts:
        out.append({"zh-CN": "表单的" + "、".join(p[0] for p in parts) + "有变化（不影响已有数据）",
                    "en": "the form's " + ", ".join(p[1] for p in parts) + " change (existing data untouched)"})
    return out


def _blocked(kind: str, lab: Words, f: dict[str, Any] | None, detail: dict[str, Any]) -> Words | None:
    """Why a step cannot be done and what to do, in words (None: the engine's own sentence)."""
    rows = detail.get("rows")
    if kind == "add_column" and rows:
        return {"zh-CN": f"必填字段「{lab['zh-CN']}」不能直接加到已有 {rows} 条记录的表单：请先给它一个默认值，或先不设为必填",
                "en": f"required field “{lab['en']}” cannot be added to a form with {rows} records: give it a default, "
                      "or make it optional for now"}
    if kind == "add_column" and isinstance(detail.get("invalid"), dict):
        bad = detail["invalid"]
        return {"zh-CN": f"字段「{lab['zh-CN']}」的默认值不能用：{bad.get('zh-CN', '')}；请重新选择默认值",
                "en": f"the default of field “{lab['en']}” cannot be used: {bad.get('en', '')}; pick another default"}
    if kind == "require_field" and rows:
        return {"zh-CN": f"字段「{lab['zh-CN']}」改为必填，但有 {rows} 条记录没有填：请先给它一个默认值，或先补齐这些记录",
                "en": f"field “{lab['en']}” becomes required but {rows} records leave it empty: give it a default, "
                      "or fill those records first"}
    if kind == "convert_column" and detail.get("failed_count"):
        n = detail["failed_count"]
        return {"zh-CN": f"字段「{lab['zh-CN']}」不能改为{_type(f, 0)}：有 {n} 条记录的值转换不了；请先修改这些记录，或新增一个字段",
                "en": f"field “{lab['en']}” cannot become {_type(f, 1)}: {n} records do not convert; fix them first, "
                      "or add a new field"}
    if kind == "move_field":
        return {"zh-CN": f"字段「{lab['zh-CN']}」不能在表单和明细表之间移动：请在新位置新增一个字段",
                "en": f"field “{lab['en']}” cannot move between the form and a detail table: add a new field there"}
    return None


def blockers(operations: list[Any], new: Any, old: Any = None) -> list[dict[str, Any]]:
    """The steps that keep a plan from being published, each in words with the key of the field to
    change (``field``; None for the form as a whole): the form designer shows them first, in red, with
    the field's input beside them."""
    fields = _fields(new, old)
    out: list[dict[str, Any]] = []
    for op in operations:
        if getattr(op, "safety", "") != "blocked":
            continue
        f = fields.get(str(getattr(op, "field_id", "") or ""))
        lab = label_of(f, getattr(op, "field_id", None) or "")
        words = _blocked(getattr(op, "kind", ""), lab, f, getattr(op, "detail", None) or {}) \
            or {"zh-CN": op.describe("zh-CN"), "en": op.describe("en")}
        out.append({**words, "field": (f or {}).get("key"), "kind": getattr(op, "kind", "")})
    return out
