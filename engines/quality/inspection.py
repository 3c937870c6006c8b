"""Opening an inspection lot (检验单, issue 22): the quality pack's plan for (type, item, operation /
supplier), its GB/T 2828.1 sampling per defect class at the switching state's severity, and the
``inspection_lot`` record written through the record service as the engine.

- :func:`find_plan`: the most specific active plan — one naming the supplier (IQC) or operation (IPQC)
  beats one leaving it empty; among equals the newest;
- :func:`sampling_for`: per defect class with an AQL (and characteristics of that class, when the plan
  has any) the single-sampling plan of :func:`sampling.plan` at the class's state severity, or the
  plan's fixed sample size with Ac 0 / Re 1. Classes may have different sample sizes (the arrows);
  the lot draws the largest and each class is judged on its own first *n* samples;
- :func:`open_lot`: what the IQC, IPQC and OQC triggers (and the NCR's re-inspection) call.

The pack's forms are recognised by name AND by the ``quality`` pack owning them (:func:`pack_form`),
so a plant's own form of the same name is never touched.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.quality import sampling
from mom.engines.quality.switching import State
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.records.engine_writes import EngineWrites, acting  # noqa: F401  (acting: re-exported)
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, NotFound, Problem

PACK = "quality"
PLAN, LOT, STATE, DEFECT = "inspection_plan", "inspection_lot", "quality_state", "defect_code"
CLASSES = ("critical", "major", "minor")
CLASS_ZH = {"critical": "致命", "major": "严重", "minor": "轻微"}
TYPE_ZH = {"iqc": "来料检验", "ipqc_first": "首检", "ipqc_patrol": "巡检", "ipqc_last": "末检", "oqc": "出货检验"}
SEVERITY_RANK = {"reduced": 0, "normal": 1, "tightened": 2}
#: the lot fields only the engine writes (people: read only, whatever their role)
ENGINE_FIELDS = ("severity", "code_letter", "sample_size", "ac_critical", "re_critical", "ac_major", "re_major",
                 "ac_minor", "re_minor", "result", "defects_critical", "defects_major", "defects_minor", "inspected_by",
                 "inspected_at", "ncr", "release_transfer", "switching_note", "sampling", "sampling_note", "stock_receipt", "receipt_line",
                 "production_order", "operation_task", "stock_shipment")
SOURCES = ("stock_receipt", "receipt_line", "production_order", "operation_task", "stock_shipment")
_NEEDS = {PLAN: ("inspection_type", "item", "characteristics", "aql_major", "active", "supplier"),
          LOT: ("status", "inspection_type", "plan", "item", "lot_qty", "results", "result", "sampling", "supplier"),
          STATE: ("inspection_type", "item", "supplier", "supplier_key", "defect_class", "state"),
          DEFECT: ("code", "defect_class")}

#: ``conn.info`` key: set while the quality engine writes its own records
FLAG = "mom_quality_engine"
_WRITES = EngineWrites(FLAG)
engine_writes = _WRITES.writes
engine_writing = _WRITES.writing


def quality_pack_owns(conn: Connection, compiled: CompiledForm, needs: tuple[str, ...]) -> bool:
    """Does the quality pack own ``compiled`` (read once per compiled version) with the fields ``needs``?"""
    owner = compiled.memo.get("quality_pack_owner")
    if owner is None:
        owner = compiled.memo["quality_pack_owner"] = conn.execute(sa.select(T.pack_item.c.pack).where(
            T.pack_item.c.kind == "forms", T.pack_item.c.name == compiled.name)).scalar() or ""
    if owner != PACK or not all(compiled.definition.field(k) is not None for k in needs):
        return False
    # quality 1.2.0 on: the supplier is a vendor. A plant between its core 1.6.0 and quality 1.2.0 upgrades (text
    # suppliers still) has no inspection engine until quality is upgraded too, rather than a wrong one
    sup = compiled.definition.field("supplier") if "supplier" in needs else None
    return sup is None or sup.value_type == "reference"


def owned(conn: Connection, compiled: CompiledForm) -> bool:
    """Is ``compiled`` the quality pack's form of its name, with the fields the engine binds to?"""
    needs = _NEEDS.get(compiled.name)
    return needs is not None and quality_pack_owns(conn, compiled, needs)


def pack_form(conn: Connection, forms: Any, name: str) -> CompiledForm | None:
    """The quality pack's form ``name``, or None when the pack (or that form of it) is not installed."""
    memo = getattr(forms, "_memo", None)   # a posting's TxForms: a form read once stays read
    compiled = memo.get(name) if memo is not None else None
    if compiled is None:
        get_many = getattr(forms, "get_many", None)
        if get_many is not None:
            # absent → left out: no NotFound with its "did you mean" over every form name on each receipt
            compiled = get_many(conn, [name]).get(name)
            if compiled is not None and memo is not None:
                memo[name] = compiled
        else:
            try:
                compiled = forms.get(conn, name)
            except NotFound:
                return None
    return compiled if compiled is not None and owned(conn, compiled) else None


def require_form(conn: Connection, forms: Any, name: str) -> CompiledForm:
    compiled = pack_form(conn, forms, name)
    if compiled is None:
        raise NotFound("没有安装「质量管理」模型包：请管理员先安装它（mom pack install quality）",
                       "the quality pack is not installed: an administrator installs it first (mom pack install quality)",
                       detail={"form": name})
    return compiled


# ---------------------------------------------------------------- plans

def find_plan(conn: Connection, forms: Any, *, inspection_type: str, item: int, supplier: int | None = None,
              operation: str | None = None) -> dict[str, Any] | None:
    """The most specific active plan of ``inspection_type`` for ``item`` (and ``supplier`` for IQC,
    ``operation`` for IPQC): a plan naming them beats one leaving them empty; the newest among equals."""
    return find_plans(conn, forms, inspection_type=inspection_type, items=[item], supplier=supplier,
                      operation=operation).get(int(item))


def find_plans(conn: Connection, forms: Any, *, inspection_type: str, items: Any, supplier: int | None = None,
               operation: str | None = None) -> dict[int, dict[str, Any]]:
    """:func:`find_plan` for several items in one query (a receipt of many lines): item id → plan."""
    compiled = pack_form(conn, forms, PLAN)
    wanted = sorted({int(i) for i in items if i is not None})
    if compiled is None or not wanted:
        return {}
    t = compiled.main
    best: dict[int, tuple[tuple[int, int], dict[str, Any]]] = {}
    for i in range(0, len(wanted), 900):
        q = sa.select(t).where(t.c.inspection_type == inspection_type, t.c.item.in_(wanted[i:i + 900]),
                               t.c.deleted_at.is_(None), sa.or_(t.c.active.is_(True), t.c.active.is_(None)))
        for r in conn.execute(q).mappings():
            score = _specificity(r, supplier, operation)
            if score < 0:
                continue
            key, item = (score, int(r["id"])), int(r["item"])
            if item not in best or key > best[item][0]:
                best[item] = (key, dict(r))
    return {item: plan for item, (_, plan) in best.items()}


def _specificity(plan: Mapping[str, Any], supplier: int | None, operation: str | None) -> int:
    """How many of supplier (a vendor id) / operation the plan names (and matches); -1 when it names another."""
    score = 0
    for have, want in ((_plain(plan.get("supplier")), _plain(supplier)), ((plan.get("operation") or "").strip(), (operation or "").strip())):
        if have and have != want:
            return -1
        score += 1 if have else 0
    return score


def _plain(v: Any) -> str:
    return "" if v is None else str(v).strip()


def characteristics(conn: Connection, forms: Any, plan_id: int) -> list[dict[str, Any]]:
    """The plan's characteristics, in their 序号 order."""
    compiled = require_form(conn, forms, PLAN)
    rows = S.load_children(conn, compiled, [int(plan_id)], ["characteristics"])[int(plan_id)]["characteristics"]
    return sorted(rows, key=lambda r: (int(r.get("seq_no") or 0), int(r.get("seq") or 0)))


# ---------------------------------------------------------------- switching states

def state_key(inspection_type: str, item: int, supplier: int | None, defect_class: str) -> dict[str, Any]:
    """The switching state's key: ``supplier`` is the vendor (None: any supplier — IPQC, OQC, a receipt without
    one) and ``supplier_key`` its id as text, '' for any — not NULL — so the unique index (inspection_type, item,
    supplier_key, defect_class) holds for "any" too (two first judges at once)."""
    vendor = int(supplier) if supplier not in (None, "") else None
    return {"inspection_type": inspection_type, "item": int(item), "supplier": vendor,
            "supplier_key": "" if vendor is None else str(vendor), "defect_class": defect_class}


def load_state(conn: Connection, forms: Any, key: Mapping[str, Any], *, lock: bool = False
               ) -> tuple[dict[str, Any] | None, State]:
    """The stored switching state of ``key`` (its row, or None and a fresh normal state)."""
    compiled = pack_form(conn, forms, STATE)
    if compiled is None:
        return None, State()
    t = compiled.main
    q = sa.select(t).where(t.c.inspection_type == key["inspection_type"], t.c.item == key["item"],
                           t.c.supplier_key == key["supplier_key"], t.c.defect_class == key["defect_class"],
                           t.c.deleted_at.is_(None)).order_by(t.c.id).limit(1)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    found = conn.execute(q).mappings().first()
    if found is None:
        return None, State()
    try:
        return dict(found), State.from_dict(json.loads(found.get("state") or "{}"))
    except (ValueError, sampling.SamplingError):
        return dict(found), State()       # a damaged state starts again on normal (documented)


# ---------------------------------------------------------------- sampling

def lot_size(qty: Any) -> int:
    """The lot size GB/T 2828.1 counts: the quantity rounded up to whole units (at least 1)."""
    q = qty if isinstance(qty, Decimal) else Decimal(str(qty or 0))
    return max(1, math.ceil(q))


def sampled_classes(plan: Mapping[str, Any], chars: list[dict[str, Any]]) -> list[str]:
    """Classes with an AQL — and, when the plan lists characteristics, with at least one of that class."""
    with_chars = {str(c.get("defect_class") or "major") for c in chars}
    return [k for k in CLASSES if plan.get(f"aql_{k}") is not None and (not chars or k in with_chars)]


def sampling_for(plan: Mapping[str, Any], chars: list[dict[str, Any]], qty: Any,
                 states: Mapping[str, State]) -> dict[str, dict[str, Any]]:
    """Per sampled class: severity, aql, level, code_letter, n, ac, re, fixed, note_zh (see the module docstring)."""
    size = lot_size(qty)
    level = str(plan.get("inspection_level") or "II")
    fixed = plan.get("fixed_sample_size")
    out: dict[str, dict[str, Any]] = {}
    for k in sampled_classes(plan, chars):
        if fixed:
            n = min(int(fixed), size)
            out[k] = {"severity": "normal", "aql": None, "level": level, "code_letter": None, "n": n, "ac": 0, "re": 1,
                      "fixed": True, "note_zh": f"{CLASS_ZH[k]}：固定抽 {n} 件，0 收 1 退"}
            continue
        state = states.get(k) or State()
        try:
            p = sampling.plan(size, plan[f"aql_{k}"], level, state.severity)
        except sampling.SamplingError as exc:
            raise InvalidInput(f"检验方案 {plan.get('code')} 的{CLASS_ZH[k]}缺陷抽样参数有误：{exc.zh}",
                               f"inspection plan {plan.get('code')}, {k} defects: {exc.en}",
                               problems=[Problem(f"/aql_{k}", exc.zh, exc.en)]) from None
        note = f"{CLASS_ZH[k]}：{p.note_zh}"
        if state.discontinued:
            note += "【注意】该供方/物料的抽样检验已暂停（加严下累计 5 批不接收），请质量经理决定是否接收"
        out[k] = {"severity": p.severity, "aql": p.aql, "level": level, "code_letter": p.code_letter, "n": p.sample_size,
                  "ac": p.ac, "re": p.re, "fixed": False, "note_zh": note}
    return out


def lot_values(plan: Mapping[str, Any], per_class: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The lot's engine fields from its classes' plans."""
    vals: dict[str, Any] = {"sampling": json.dumps(per_class, ensure_ascii=False),
                            "sampling_note": "\n".join(str(c["note_zh"]) for c in per_class.values())[:2000] or
                            "检验方案没有需要抽样的缺陷类别（各类 AQL 均为空）"}
    for k in CLASSES:
        c = per_class.get(k)
        vals[f"ac_{k}"], vals[f"re_{k}"] = (c["ac"], c["re"]) if c else (None, None)
    vals["sample_size"] = max((int(c["n"]) for c in per_class.values()), default=0)
    severities = [str(c["severity"]) for c in per_class.values()]
    vals["severity"] = max(severities, key=SEVERITY_RANK.__getitem__) if severities else "normal"
    main = per_class.get("major") or next(iter(per_class.values()), None)
    vals["code_letter"] = main.get("code_letter") if main else None
    return vals


def plan_sampling(conn: Connection, forms: Any, plan: Mapping[str, Any], *, item: int, supplier: int | None,
                  qty: Any) -> dict[str, Any]:
    """The lot fields of a new lot of ``plan`` (states read for its type, item, supplier)."""
    chars = characteristics(conn, forms, int(plan["id"]))
    itype = str(plan["inspection_type"])
    sup = supplier if itype == "iqc" else None
    states = {k: load_state(conn, forms, state_key(itype, item, sup, k))[1] for k in CLASSES}
    return lot_values(plan, sampling_for(plan, chars, qty, states))


def open_lot(conn: Connection, forms: Any, ctx: Ctx, *, plan: Mapping[str, Any] | int, item: int, lot: int | None,
             qty: Any, supplier: int | None, sources: Mapping[str, Any], note: str | None = None,
             resubmitted: bool = False) -> dict[str, Any]:
    """Create a pending inspection lot of ``plan`` for ``qty`` of ``item`` (``lot``, ``supplier``), with the
    sampling plan of the current switching state; ``sources``: stock_receipt, receipt_line, production_order,
    operation_task, stock_shipment (ids); ``resubmitted``: a re-inspection after rework or sorting (GB/T 2828.1
    §9.3.2: it does not move the switching state). Written as the engine acting for ``ctx``'s user; returns the stored row."""
    lot_form = require_form(conn, forms, LOT)
    if not isinstance(plan, Mapping):
        t = require_form(conn, forms, PLAN).main
        found = conn.execute(sa.select(t).where(t.c.id == int(plan), t.c.deleted_at.is_(None))).mappings().first()
        if found is None:
            raise NotFound(f"没有 id 为 {plan} 的检验方案", f"no inspection plan {plan}")
        plan = dict(found)
    unknown = [k for k in sources if k not in SOURCES]
    if unknown:
        raise ValueError(f"open_lot: unknown sources {unknown}")
    values = {"inspection_type": plan["inspection_type"], "plan": int(plan["id"]), "item": int(item),
              "lot": int(lot) if lot is not None else None, "supplier": (int(supplier) if supplier else None), "lot_qty": qty,
              "status": "pending", **{k: v for k, v in sources.items() if v is not None},
              **plan_sampling(conn, forms, plan, item=int(item), supplier=supplier, qty=qty)}
    if note:
        values["note"] = note[:500]
    if resubmitted and "resubmitted" in lot_form.main.c:
        values["resubmitted"] = True
    with engine_writes(conn):
        doc = S.create_records(conn=conn, registry=forms, ctx=acting(ctx), form=lot_form.name, docs=[values])[0]
    return {**values, "id": int(doc["id"]), "code": doc.get("code")}


def role_users(conn: Connection, role: str) -> list[int]:
    """Active users holding ``role``."""
    q = (sa.select(T.user.c.id).join(T.user_role, T.user_role.c.user_id == T.user.c.id)
         .join(T.role, T.role.c.id == T.user_role.c.role_id)
         .where(T.role.c.name == role, T.user.c.is_active.is_(True)).distinct())
    return sorted(int(i) for i in conn.execute(q).scalars())


def notify_inspectors(conn: Connection, ctx: Ctx, lots: list[Mapping[str, Any]], title: str, body: str) -> list[int]:
    """An in-app notification (待检 / to inspect) to every active 质检员 for newly opened ``lots``; the link opens
    the first lot's entry page. Returns the users notified."""
    users = role_users(conn, "qc_inspector") if lots else []
    if users:
        link = f"/inspect/{int(lots[0]['id'])}" if len(lots) == 1 else "/inspect"
        conn.execute(T.notification.insert(), [{"user_id": u, "kind": "inspection_lot", "title": title[:500],
                                                "body": body[:2000], "link": link, "created_at": ctx.now} for u in users])
    return users
