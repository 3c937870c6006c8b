"""Inspection entry (检验录入, issue 22): the inspector's list of inspection lots, one lot as a sample grid
(``sample_grid``), saving its readings and judging it. Every read and write goes through the record
service on the quality pack's ``inspection_lot``: the form's permissions, row scope, state machine
(start 开始检验 / judge 判定) and row_version apply, and the pack's engine hooks decide the result on
judge. Nothing here writes a table itself."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.quality import doc_links
from mom.engines.quality import sample_grid as G
from mom.engines.records import query as Q
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

LOT, PLAN, PACK = "inspection_lot", "inspection_plan", "quality"
OPEN = ("pending", "inspecting")
STATUSES = ("pending", "inspecting", "judged", "cancelled")
TYPES = ("iqc", "ipqc_first", "ipqc_patrol", "ipqc_last", "oqc")
_NEEDS = {LOT: ("status", "inspection_type", "plan", "item", "sample_size", "results", "result"),
          PLAN: ("characteristics",)}
MAX_LIST = 200


def form(conn: Connection, forms: Any, name: str) -> CompiledForm:
    """The quality pack's form ``name`` (installed by the pack, with the fields entry binds to), else 404 in words."""
    try:
        compiled = forms.get(conn, name)
    except NotFound:
        compiled = None
    owner = conn.execute(sa.select(T.pack_item.c.pack).where(T.pack_item.c.kind == "forms", T.pack_item.c.name == name)).scalar()
    if compiled is None or owner != PACK or any(compiled.definition.field(k) is None for k in _NEEDS.get(name, ())):
        raise NotFound("没有安装「质量管理」模型包的检验单：请管理员先安装它（mom pack install quality）",
                       "the quality pack's inspection lots are not installed: an administrator installs it first "
                       "(mom pack install quality)", detail={"form": name})
    return compiled


def _labels(compiled: CompiledForm, key: str) -> Mapping[str, Mapping[str, str]]:
    f = compiled.definition.field(key)
    return f.option_labels if f is not None else {}


def _label(compiled: CompiledForm, key: str, value: Any) -> dict[str, str] | None:
    got = _labels(compiled, key).get(value) if value is not None else None
    return dict(got) if got else None


# ---------------------------------------------------------------- list

def listing(conn: Connection, forms: Any, ctx: Ctx, *, status: str | None, kind: str | None, q: str | None,
            limit: int) -> dict[str, Any]:
    """Inspection lots the caller may read: open ones (待检, 检验中) by default, due soonest first (none due: last),
    judged and cancelled ones newest first; ``q`` finds a lot by its number, supplier, item code or name,
    stock lot number or a scanned lot label (see :func:`_matching`)."""
    compiled = form(conn, forms, LOT)
    wanted = _choice(status, STATUSES, "status", "状态") if status else list(OPEN)
    filters = [Q.Filter("status", "in", wanted)]
    if kind:
        filters.append(Q.Filter("inspection_type", "in", _choice(kind, TYPES, "type", "检验类型")))
    sort = "due_at,-id" if set(wanted) <= set(OPEN) else "-id"
    if q and q.strip():
        filters.append(Q.Filter("id", "in", _matching(conn, forms, compiled, q.strip()) or [0]))
    page = Q.list_records(conn=conn, registry=forms, ctx=ctx, form=LOT, filters=filters, sort=sort, limit=limit)
    now = ctx.now
    return {"items": [_card(compiled, d, now) for d in page["items"]], "more": page["next"] is not None}


MAX_MATCH = 1000   # lots a search looks at (newest first); the reader's permissions filter them after


def _like(col: Any, text: str) -> Any:
    esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(col).like(f"%{esc.lower()}%", escape="\\")


def _ids(conn: Connection, forms: Any, name: str, conds: Any) -> Any:
    try:
        t = forms.get(conn, name).main
    except NotFound:
        return None
    return sa.select(t.c.id).where(sa.or_(*conds(t)), t.c.deleted_at.is_(None)).limit(MAX_MATCH).scalar_subquery()


def _matching(conn: Connection, forms: Any, compiled: CompiledForm, q: str) -> list[int]:
    """Lot ids ``q`` finds: the lot's code or note; its supplier's name, code or short name; its item's code or name; its stock lot's number.
    A scanned lot label ``LOT:<item code>:<lot number>`` finds the lots of that item and lot number."""
    t = compiled.main
    q = q[:100]
    parts = q.split(":")
    if len(parts) >= 3 and parts[0].strip().upper() == "LOT":
        code, number = parts[1].strip(), ":".join(parts[2:]).strip()
        items = _ids(conn, forms, "item", lambda i: [i.c.code == code])
        lots = _ids(conn, forms, "lot", lambda lt: [lt.c.number == number])
        if items is None or lots is None:
            return []
        cond = sa.and_(t.c.item.in_(items), t.c.lot.in_(lots))
    else:
        conds = [_like(t.c.code, q), _like(t.c.note, q)]
        vendors = _ids(conn, forms, "vendor", lambda v: [_like(v.c.name, q), _like(v.c.code, q), _like(v.c.short_name, q)])
        conds += [t.c.supplier.in_(vendors)] if vendors is not None else []
        items = _ids(conn, forms, "item", lambda i: [_like(i.c.code, q), _like(i.c.name, q)])
        lots = _ids(conn, forms, "lot", lambda lt: [_like(lt.c.number, q)])
        conds += [t.c.item.in_(items)] if items is not None else []
        conds += [t.c.lot.in_(lots)] if lots is not None else []
        cond = sa.or_(*conds)
    found = conn.execute(sa.select(t.c.id).where(cond, t.c.deleted_at.is_(None)).order_by(t.c.id.desc()).limit(MAX_MATCH))
    return [int(i) for i in found.scalars()]


def _choice(raw: str, allowed: tuple[str, ...], name: str, zh: str) -> list[str]:
    vals = [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in vals if v not in allowed]
    if bad or not vals:
        raise InvalidInput(f"{zh}「{(bad or [raw])[0][:30]}」无效；可选：{'、'.join(allowed)}",
                           f"{name} {(bad or [raw])[0][:30]!r} is not one of {', '.join(allowed)}",
                           problems=[Problem(f"/{name}", f"可选：{'、'.join(allowed)}", f"one of {', '.join(allowed)}", "enum")])
    return vals


def _card(compiled: CompiledForm, d: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    shown = d.get("_display") or {}
    due = d.get("due_at")
    overdue = bool(due and d.get("status") in OPEN and dt.datetime.fromisoformat(due.replace("Z", "+00:00")) < now)
    return {"id": d["id"], "code": d.get("code"), "status": d.get("status"), "status_label": _label(compiled, "status", d.get("status")),
            "inspection_type": d.get("inspection_type"), "type_label": _label(compiled, "inspection_type", d.get("inspection_type")),
            "item": shown.get("item"), "lot": shown.get("lot"), "supplier": shown.get("supplier"), "lot_qty": d.get("lot_qty"),
            "sample_size": d.get("sample_size"), "severity": d.get("severity"),
            "severity_label": _label(compiled, "severity", d.get("severity")), "due_at": due, "overdue": overdue,
            "assignee": shown.get("assignee"), "result": d.get("result"), "result_label": _label(compiled, "result", d.get("result"))}


# ---------------------------------------------------------------- one lot

def _characteristics(conn: Connection, forms: Any, plan_id: int | None) -> list[G.Characteristic]:
    """The plan's characteristics in their order: part of the lot (read with it), whoever may read the lot."""
    if plan_id is None:
        return []
    plan = form(conn, forms, PLAN)
    t = plan.children["characteristics"]
    order = [t.c.seq_no] if "seq_no" in t.c else []
    rows = conn.execute(sa.select(t).where(t.c.parent_id == plan_id).order_by(*order, t.c.seq, t.c.id)).mappings()
    out: dict[int, G.Characteristic] = {}
    for r in rows:
        seq = r.get("seq_no") if "seq_no" in r else r.get("seq")
        if seq is not None and int(seq) not in out:
            out[int(seq)] = G.Characteristic.of(r)
    return list(out.values())


def _plan_row(conn: Connection, forms: Any, plan_id: int | None) -> Mapping[str, Any]:
    if plan_id is None:
        return {}
    t = form(conn, forms, PLAN).main
    return conn.execute(sa.select(t.c.id, t.c.code, t.c.name).where(t.c.id == plan_id)).mappings().first() or {}


def sizes(conn: Connection, compiled: CompiledForm, doc: Mapping[str, Any]) -> dict[str, int]:
    """Samples per defect class (class -> n) as the engine chose them when it opened the lot (its ``sampling``
    data; the classes the lot has Re for, each drawing the lot's sample size, when there is none)."""
    raw = None
    if "sampling" in compiled.main.c:
        t = compiled.main
        raw = conn.execute(sa.select(t.c.sampling).where(t.c.id == int(doc["id"]))).scalar()
    try:
        got = json.loads(raw) if raw else {}
    except ValueError:
        got = {}
    if isinstance(got, dict) and got:
        return {k: int(v["n"]) for k, v in got.items() if k in G.CLASSES and isinstance(v, dict) and isinstance(v.get("n"), int)}
    n = int(doc.get("sample_size") or 0)
    return {k: n for k in G.CLASSES if doc.get(f"re_{k}") is not None}


def _unit(conn: Connection, forms: Any, item_id: Any) -> str | None:
    try:
        t = forms.get(conn, "item").main
    except NotFound:
        return None
    if item_id is None or "unit" not in t.c:
        return None
    return conn.execute(sa.select(t.c.unit).where(t.c.id == int(item_id))).scalar()


def _may(compiled: CompiledForm, ctx: Ctx, status: str | None) -> dict[str, bool]:
    """What the caller may do on the lot now: enter readings (update right and, for a pending lot, the start
    transition) and judge (the judge transition); the server checks again on each call."""
    sm = compiled.definition.state_machine
    a = ctx.actor
    can = form_access(compiled, a).can("update")

    def allowed(key: str) -> bool:
        return bool(sm) and any(t.key == key and t.allows(a.username, a.role_names, a.is_admin) for t in sm.transitions)

    enter = can and (status == "inspecting" or (status == "pending" and allowed("start"))) and allowed("judge")
    return {"enter": enter, "judge": enter}


def grid(conn: Connection, forms: Any, ctx: Ctx, lot_id: int) -> dict[str, Any]:
    """The lot with display texts, its plan's characteristics and the sample grid (samples × characteristics,
    each cell with its reading and whether it conforms), per class Ac/Re and the nonconforming samples so far."""
    compiled = form(conn, forms, LOT)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, compiled=compiled)
    return _view(conn, forms, ctx, compiled, doc)


def _view(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, doc: Mapping[str, Any]) -> dict[str, Any]:
    shown = doc.get("_display") or {}
    chars = _characteristics(conn, forms, doc.get("plan"))
    n = int(doc.get("sample_size") or 0)
    per = sizes(conn, compiled, doc)
    rows = doc.get("results") or []
    cells = G.cells_by_key(rows)
    counts = G.defects(chars, rows, per)
    plan = _plan_row(conn, forms, doc.get("plan"))
    classes = []
    for k in G.CLASSES:
        ac, re = doc.get(f"ac_{k}"), doc.get(f"re_{k}")
        if not any(ch.defect_class == k for ch in chars):
            continue
        classes.append({"key": k, "label": _class_label(k), "sampled": re is not None, "n": per.get(k, 0), "ac": ac, "re": re,
                        "defects": counts[k], "rejected": re is not None and counts[k] >= int(re)})
    samples = [{"sample_no": s, "cells": [_cell(ch, cells.get((s, ch.seq)), G.required(ch, s, per)) for ch in chars]}
               for s in range(1, n + 1)]
    card = _card(compiled, doc, ctx.now)
    return {**card, "row_version": doc.get("row_version"), "code_letter": doc.get("code_letter"),
            "unit": _unit(conn, forms, doc.get("item")),
            "plan": {"id": plan.get("id"), "code": plan.get("code"), "name": plan.get("name")} if plan else None,
            "switching_note": doc.get("switching_note"), "note": doc.get("note"),
            "ncr": _ncr(conn, forms, ctx, doc.get("ncr")),
            "release": doc_links.release_link(conn, forms, ctx.actor, doc),   # 放行调拨单 (readers of transfers only)
            "inspected_by": shown.get("inspected_by"), "inspected_at": doc.get("inspected_at"),
            "defects": {k: doc.get(f"defects_{k}") for k in G.CLASSES},
            "may": _may(compiled, ctx, doc.get("status")),
            "characteristics": [_char_out(ch) for ch in chars], "classes": classes, "samples": samples,
            "missing": len(G.missing(chars, rows, per))}


def _ncr(conn: Connection, forms: Any, ctx: Ctx, code: Any) -> dict[str, Any] | None:
    """The NCR the judge opened, by its number and id (a link) — only to who may read that NCR (else None)."""
    if not code:
        return None
    try:
        page = Q.list_records(conn=conn, registry=forms, ctx=ctx, form="nonconformance", filters=[Q.Filter("code", "eq", code)],
                              limit=1, fields=["code"])
    except (NotFound, AccessDenied, InvalidInput):
        page = {"items": []}
    return {"code": code, "id": page["items"][0]["id"]} if page["items"] else None


def _class_label(k: str) -> dict[str, str]:
    return {"zh-CN": G.CLASS_ZH.get(k, k), "en": k}


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _char_out(ch: G.Characteristic) -> dict[str, Any]:
    return {"seq": ch.seq, "name": ch.name, "kind": ch.kind, "defect_class": ch.defect_class,
            "class_label": _class_label(ch.defect_class), "nominal": _num(ch.nominal), "lsl": _num(ch.lsl),
            "usl": _num(ch.usl), "unit": ch.unit, "method": ch.method, "counts_defects": ch.counts_defects}


def _cell(ch: G.Characteristic, r: Mapping[str, Any] | None, required: bool) -> dict[str, Any]:
    if r is None:
        return {"char_seq": ch.seq, "required": required, "value": None, "ok": None, "defect_code": None, "defect_text": None,
                "note": None}
    return {"char_seq": ch.seq, "required": required, "value": r.get("value"), "ok": G.conforms(ch, r),
            "defect_code": r.get("defect_code"), "defect_text": (r.get("_display") or {}).get("defect_code"), "note": r.get("note")}


# ---------------------------------------------------------------- save and judge

def _refuse_closed(compiled: CompiledForm, doc: Mapping[str, Any], judging: bool = False) -> None:
    status = doc.get("status")
    if status not in OPEN:
        label = (_label(compiled, "status", status) or {"zh-CN": str(status), "en": str(status)})
        code = doc.get("code")
        if judging:
            raise Conflict(f"检验单 {code} 的状态是「{label['zh-CN']}」，不能再判定",
                           f"inspection lot {code} is {label['en'].lower()}: it cannot be judged again",
                           detail={"status": status})
        raise Conflict(f"检验单 {code} 的状态是「{label['zh-CN']}」，读数不能再修改",
                       f"inspection lot {code} is {label['en'].lower()}: its readings can no longer change",
                       detail={"status": status})


def _require(compiled: CompiledForm, ctx: Ctx, doc: Mapping[str, Any], what_zh: str, what_en: str) -> None:
    may = _may(compiled, ctx, doc.get("status"))
    if not may["enter"]:
        raise AccessDenied(f"只有质检员或质量经理可以{what_zh}（检验单 {doc.get('code')}）；如需要，请联系质量经理为你开通",
                           f"only quality inspectors and managers may {what_en} (inspection lot {doc.get('code')}); "
                           "ask the quality manager if you need to", detail={"form": LOT, "action": "update"})


def _version(body: Mapping[str, Any], doc: Mapping[str, Any]) -> int:
    rv = body.get("row_version")
    if rv is None:
        return int(doc["row_version"])
    if isinstance(rv, bool) or not isinstance(rv, int) or rv < 1:
        raise InvalidInput("row_version 应为正整数", "row_version must be a positive integer",
                           problems=[Problem("/row_version", "应为正整数", "must be a positive integer", "type")])
    return rv


def save(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the sent cells into the lot's readings and save them through the record service (a pending lot
    starts: 检验中); answers the grid as it now is. ``row_version`` (optional): the version the cells were entered on."""
    compiled = form(conn, forms, LOT)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, compiled=compiled)
    _refuse_closed(compiled, doc)
    _require(compiled, ctx, doc, "录入检验结果", "enter inspection results")
    chars = _characteristics(conn, forms, doc.get("plan"))
    cells = G.read_cells(body.get("cells"), {ch.seq: ch for ch in chars}, sizes(conn, compiled, doc))
    _check_defect_codes(conn, forms, cells, {ch.seq: ch for ch in chars})
    rows = G.merge(doc.get("results") or [], cells, {ch.seq: ch for ch in chars})
    if len(rows) > G.MAX_CELLS:
        raise InvalidInput(f"一张检验单最多 {G.MAX_CELLS} 个读数", f"an inspection lot holds at most {G.MAX_CELLS} readings",
                           problems=[Problem("/cells", f"最多 {G.MAX_CELLS} 个", f"at most {G.MAX_CELLS}", "max_items")])
    patch = {"results": [{k: (format(v, "f") if k == "value" and v is not None else v) for k, v in r.items()} for r in rows]}
    saved = S.update_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, patch=patch,
                            expected_version=_version(body, doc), transition="start" if doc.get("status") == "pending" else None)
    return _view(conn, forms, ctx, compiled, saved)


def _check_defect_codes(conn: Connection, forms: Any, cells: list[dict[str, Any]], chars: Mapping[int, G.Characteristic]) -> None:
    """Every defect code sent is a defect code of the pack's list (not deleted); else 第 N 件『特性』 says so."""
    wanted = {int(c["defect_code"]) for c in cells if c.get("defect_code") is not None}
    if not wanted:
        return
    try:
        t = forms.get(conn, "defect_code").main
        known = set(conn.execute(sa.select(t.c.id).where(t.c.id.in_(wanted), t.c.deleted_at.is_(None))).scalars())
    except NotFound:
        known = set()
    bad = [(i, c) for i, c in enumerate(cells) if c.get("defect_code") is not None and int(c["defect_code"]) not in known]
    if bad:
        zh, en = G.where(bad[0][1]["sample_no"], chars.get(bad[0][1]["char_seq"]))
        raise InvalidInput(f"{zh}的缺陷代码不存在或已删除；请从缺陷代码列表中重新选择",
                           f"{en}: the defect code does not exist or was deleted; pick one from the defect code list",
                           problems=[Problem(f"/cells/{i}/defect_code", f"{G.where(c['sample_no'], chars.get(c['char_seq']))[0]}的缺陷代码不存在",
                                             f"{G.where(c['sample_no'], chars.get(c['char_seq']))[1]}: no such defect code", "unknown")
                                     for i, c in bad[:50]])


def _locked_state(conn: Connection, compiled: CompiledForm, lot_id: int) -> dict[str, Any]:
    """The lot's status and row_version read under its row lock (PostgreSQL): when two inspectors judge at once,
    the second waits for the first's commit and is then told the lot is judged (409), not a version clash."""
    t = compiled.main
    q = sa.select(t.c.status, t.c.row_version).where(t.c.id == int(lot_id))
    got = conn.execute(q.with_for_update() if conn.dialect.name == "postgresql" else q).mappings().first()
    return dict(got) if got is not None else {}


def judge(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """判定: every sampled position must have a reading (else 第 N 件『特性』还没有读数); then the form's transitions
    (start when still pending, judge) run through the record service and the pack's hooks decide the result,
    the switching state and the NCR. Answers the judged lot's grid."""
    compiled = form(conn, forms, LOT)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, compiled=compiled)
    doc = {**doc, **_locked_state(conn, compiled, lot_id)}   # a second inspector at the same moment waits here
    _refuse_closed(compiled, doc, judging=True)
    _require(compiled, ctx, doc, "判定检验单", "judge inspection lots")
    chars = _characteristics(conn, forms, doc.get("plan"))
    gaps = G.missing(chars, doc.get("results") or [], sizes(conn, compiled, doc))
    if gaps:
        raise G.missing_error(gaps)
    expected = _version(body, doc)
    if doc.get("status") == "pending":
        doc = S.update_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, patch={},
                              expected_version=expected, transition="start")
        expected = int(doc["row_version"])
    done = S.update_record(conn=conn, registry=forms, ctx=ctx, form=LOT, record_id=lot_id, patch={},
                           expected_version=expected, transition="judge")
    return _view(conn, forms, ctx, compiled, done)
