"""不合格品处理 screen (issue 22): open NCRs as a work list and one NCR with what its dispositions posted.

The list: status, item, lot, supplier, quantity, age, where it came from (IQC / IPQC / OQC / by hand) and who
acts next (the review's approvers while it runs; the one who submits, executes or closes otherwise).
One NCR: its fields and disposition lines; each line's ``posted_document`` words with the documents in
them as links (:mod:`doc_links`: a document the reader may not read loses its number), the review flow
(``nonconformance_review``) with its open tasks, the CAPA, and what the reader may do now. Reads go through
the record service or the forms' read rights and row scopes; the actions themselves are the existing
APIs (workflow start, task approve, record transitions, record create for a CAPA).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.quality import doc_links
from mom.engines.records import query as Q
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.records.lookup import user_names
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, NotFound, Problem

NCR, CAPA, LOT, FLOW = "nonconformance", "capa", "inspection_lot", "nonconformance_review"
OPEN = ("open", "approved", "dispositioned")
STATES = (*OPEN, "closed", "cancelled")
SOURCES = {"iqc": ("iqc",), "ipqc": ("ipqc_first", "ipqc_patrol", "ipqc_last"), "oqc": ("oqc",)}
SOURCE_LABEL = {"iqc": ("来料检验", "IQC"), "ipqc": ("过程检验", "IPQC"), "oqc": ("出货检验", "OQC"),
                "manual": ("手工开单", "by hand")}
MAX_LIST = 200


def _pick(raw: str | None, allowed: tuple[str, ...], default: tuple[str, ...], path: str, zh: str, en: str) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return default
    got = tuple(dict.fromkeys(x.strip() for x in raw.split(",") if x.strip()))
    bad = [x for x in got if x not in allowed]
    if bad:
        raise InvalidInput(f"{zh}「{bad[0][:20]}」不认识：可选 {', '.join(allowed)}", f"unknown {en} {bad[0][:20]!r}: use {', '.join(allowed)}",
                           problems=[Problem(path, f"可选 {', '.join(allowed)}", f"one of {', '.join(allowed)}", "enum")])
    return got


def _label(compiled: Any, key: str, value: Any) -> dict[str, str] | None:
    f = compiled.definition.field(key)
    got = f.option_labels.get(value) if f is not None and value is not None else None
    return dict(got) if got else None


def _is_ref(compiled: Any, key: str) -> bool:
    f = compiled.definition.field(key)
    return f is not None and f.type == "reference"


def _supplier(compiled: Any, doc: Mapping[str, Any]) -> Any:
    """The supplier as people read it: the vendor's name (a reference) or the text."""
    return (doc.get("_display") or {}).get("supplier") if _is_ref(compiled, "supplier") else doc.get("supplier")


def _source_of(kind: Any, has_lot: bool) -> str | None:
    if not has_lot:
        return "manual"
    return next((k for k, kinds in SOURCES.items() if kind in kinds), None)


def _lot_types(conn: Connection, forms: Any, ctx: Ctx, ids: list[int]) -> dict[int, str] | None:
    """Inspection type per inspection lot id, for a reader of inspection lots (else None)."""
    try:
        compiled = forms.get(conn, LOT)
    except NotFound:
        return None
    access = form_access(compiled, ctx.actor)
    if not access.can("read"):
        return None
    t, scope = compiled.main, access.scope("read")
    if not ids:
        return {}
    q = sa.select(t.c.id, t.c.inspection_type).where(t.c.id.in_(ids), t.c.deleted_at.is_(None))
    return {int(i): k for i, k in conn.execute(q.where(scope) if scope is not None else q)}


def _reviews(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest review instance per NCR: its status, initiator and the pending approvers."""
    if not ids:
        return {}
    I, TK = T.wf_instance, T.wf_task
    rows = conn.execute(sa.select(I.c.id, I.c.record_id, I.c.status, I.c.initiator_id, I.c.started_at, I.c.ended_at)
                        .where(I.c.form == NCR, I.c.record_id.in_(ids)).order_by(I.c.id)).mappings().all()
    latest = {int(r["record_id"]): dict(r) for r in rows}
    live = [r["id"] for r in latest.values() if r["status"] == "running"]
    pending: dict[int, list[dict[str, Any]]] = {}
    if live:
        for t in conn.execute(sa.select(TK.c.id, TK.c.instance_id, TK.c.assignee_id).where(
                TK.c.instance_id.in_(live), TK.c.status == "pending", TK.c.kind == "approval").order_by(TK.c.id)).mappings():
            pending.setdefault(int(t["instance_id"]), []).append(dict(t))
    names = user_names(conn, {t["assignee_id"] for ts in pending.values() for t in ts if t["assignee_id"]}
                       | {r["initiator_id"] for r in latest.values() if r["initiator_id"]})
    out = {}
    for rid, r in latest.items():
        tasks = [{"id": int(t["id"]), "assignee_id": t["assignee_id"], "assignee": names.get(t["assignee_id"])}
                 for t in pending.get(int(r["id"]), [])]
        out[rid] = {"instance": int(r["id"]), "status": r["status"], "initiator": names.get(r["initiator_id"]),
                    "initiator_id": r["initiator_id"], "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"]),
                    "pending": tasks}
    return out


def _iso(v: Any) -> Any:
    return v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v


def next_actor(status: Any, review: Mapping[str, Any] | None, creator: str | None) -> dict[str, str]:
    """Who acts next on an NCR, in words."""
    if status == "open":
        if review and review["status"] == "running":
            who = "、".join(sorted({t["assignee"] or "?" for t in review["pending"]})) or "质量经理"
            return {"zh-CN": f"待 {who} 批准处置", "en": f"{who} to approve the dispositions"}
        if review and review["status"] == "returned":
            who = review.get("initiator") or "提交人"
            return {"zh-CN": f"已退回，待 {who} 修改后重新提交", "en": f"returned: {who} changes it and submits again"}
        who = creator or "质检员"
        return {"zh-CN": f"待 {who} 填写处置并提交审批", "en": f"{who} to fill in the dispositions and submit"}
    return {"approved": {"zh-CN": "待 质量经理或仓管员 执行处置", "en": "a quality manager or storekeeper to execute"},
            "dispositioned": {"zh-CN": "待 质量经理 关闭", "en": "the quality manager to close it"}}.get(
        str(status), {"zh-CN": "—", "en": "—"})


def worklist(conn: Connection, forms: Any, ctx: Ctx, *, status: str | None = None, source: str | None = None,
             supplier: str | None = None, q: str | None = None, limit: int = 100) -> dict[str, Any]:
    """NCRs the caller may read, oldest first (open, approved and dispositioned ones by default), with the
    counts per state of what the filters let through."""
    states = _pick(status, STATES, OPEN, "/status", "状态", "status")
    sources = _pick(source, (*SOURCES, "manual"), (), "/source", "来源", "source")
    filters = [Q.Filter("status", "in", list(states))]
    compiled = forms.get(conn, NCR)
    if supplier and supplier.strip():     # the supplier: a vendor record (its name) or, before quality 1.2, a text
        filters.append(Q.Filter("supplier.name" if _is_ref(compiled, "supplier") else "supplier", "like", supplier.strip()[:100]))
    if sources:
        kinds = [k for s in sources if s != "manual" for k in SOURCES[s]]
        if "manual" in sources and not kinds:
            filters.append(Q.Filter("inspection_lot", "isnull", True))
        elif "manual" not in sources:
            filters.append(Q.Filter("inspection_lot.inspection_type", "in", kinds))
    page = Q.list_records(conn=conn, registry=forms, ctx=ctx, form=NCR, filters=filters, sort="created_at",
                          limit=max(1, min(int(limit), MAX_LIST)), search=(q or "").strip()[:100] or None)
    items = page["items"]
    if sources and "manual" in sources and len(sources) > 1:       # manual plus some kinds: filter here
        types = _lot_types(conn, forms, ctx, [int(d["inspection_lot"]) for d in items if d.get("inspection_lot")]) or {}
        items = [d for d in items if _source_of(types.get(int(d["inspection_lot"])) if d.get("inspection_lot") else None,
                                                bool(d.get("inspection_lot"))) in sources]
    types = _lot_types(conn, forms, ctx, [int(d["inspection_lot"]) for d in items if d.get("inspection_lot")])
    reviews = _reviews(conn, [int(d["id"]) for d in items])
    capas = readable_capas(conn, forms, ctx, {str(d["capa"]) for d in items if d.get("capa")})
    creators = user_names(conn, {d["created_by"] for d in items if d.get("created_by")})
    today = ctx.now
    out = []
    for d in items:
        shown = d.get("_display") or {}
        src = _source_of((types or {}).get(int(d["inspection_lot"])) if d.get("inspection_lot") else None,
                         bool(d.get("inspection_lot"))) if types is not None or not d.get("inspection_lot") else None
        created = d.get("created_at")
        age = None
        if created:
            at = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
            age = max(0, (today - at).days)
        review = reviews.get(int(d["id"]))
        out.append({"id": d["id"], "code": d.get("code"), "title": d.get("title"), "status": d.get("status"),
                    "status_label": _label(compiled, "status", d.get("status")), "item": shown.get("item"),
                    "lot": shown.get("lot"), "supplier": _supplier(compiled, d), "qty": d.get("qty"), "unit": d.get("unit"),
                    "source": src, "source_label": dict(zip(("zh-CN", "en"), SOURCE_LABEL[src])) if src else None,
                    "age_days": age, "capa": d.get("capa") if d.get("capa") in capas else None,
                    "next": next_actor(d.get("status"), review, creators.get(d.get("created_by"))),
                    "mine": bool(review and any(t["assignee_id"] == ctx.actor.id for t in review["pending"]))})
    return {"items": out, "more": page.get("next") is not None, "scope": page.get("scope")}


def detail(conn: Connection, forms: Any, ctx: Ctx, ncr_id: int) -> dict[str, Any]:
    """One NCR as its screen shows it (see the module docstring)."""
    compiled = forms.get(conn, NCR)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=NCR, record_id=ncr_id, compiled=compiled)
    shown = doc.get("_display") or {}
    lines = []
    kinds = compiled.definition.field("dispositions")
    for i, ln in enumerate(doc.get("dispositions") or []):
        text, docs = doc_links.in_words(conn, forms, ctx.actor, ln.get("posted_document"))
        f = kinds.child("disposition") if kinds is not None else None
        got = f.option_labels.get(ln.get("disposition")) if f is not None else None
        lines.append({"no": i + 1, "disposition": ln.get("disposition"), "label": dict(got) if got else None,
                      "qty": ln.get("qty"), "note": ln.get("note"), "posted": text, "documents": docs})
    review = _reviews(conn, [ncr_id]).get(ncr_id)
    creator = user_names(conn, {doc["created_by"]} if doc.get("created_by") else set()).get(doc.get("created_by"))
    types = _lot_types(conn, forms, ctx, [int(doc["inspection_lot"])] if doc.get("inspection_lot") else [])
    src = _source_of((types or {}).get(int(doc["inspection_lot"])) if doc.get("inspection_lot") else None,
                     bool(doc.get("inspection_lot"))) if types is not None or not doc.get("inspection_lot") else None
    access = form_access(compiled, ctx.actor)
    capa_form = _capa_access(conn, forms, ctx)
    mine = [t["id"] for t in (review or {}).get("pending", []) if t["assignee_id"] == ctx.actor.id]
    has_capa = conn.execute(sa.select(compiled.main.c.capa).where(compiled.main.c.id == ncr_id)).scalar() is not None \
        if "capa" in compiled.main.c else False       # the field may be hidden from her; the NCR has one all the same
    capa = doc_links.one(conn, forms, ctx.actor, doc.get("capa"), CAPA) if doc.get("capa") else None
    running = bool(review and review["status"] == "running")
    return {"id": doc["id"], "code": doc.get("code"), "title": doc.get("title"), "status": doc.get("status"),
            "status_label": _label(compiled, "status", doc.get("status")), "row_version": doc.get("row_version"),
            "item": shown.get("item"), "lot": shown.get("lot"), "supplier": _supplier(compiled, doc),
            "location": shown.get("location"), "qty": doc.get("qty"), "unit": doc.get("unit"),
            "defect_code": shown.get("defect_code"), "description": doc.get("description"),
            "production_order": doc.get("production_order"), "production_order_text": shown.get("production_order"),
            "operation_task_text": shown.get("operation_task"),
            "inspection_lot": doc_links.one(conn, forms, ctx.actor, shown.get("inspection_lot"), LOT) if doc.get("inspection_lot") else None,
            "source": src, "source_label": dict(zip(("zh-CN", "en"), SOURCE_LABEL[src])) if src else None,
            "created_at": doc.get("created_at"), "creator": creator,
            "executed_at": doc.get("executed_at"), "executed_by": shown.get("executed_by"), "closed_at": doc.get("closed_at"),
            "dispositions": lines, "review": review, "next": next_actor(doc.get("status"), review, creator),
            "capa": capa, "capa_code": capa["code"] if capa else None,   # a CAPA she may not read: neither link nor number
            "capa_hidden": capa is None and has_capa,
            "may": {"edit": access.can("update") and doc.get("status") == "open" and not running,
                    "submit": access.can("update") and doc.get("status") == "open" and not running,
                    "approve_task": mine[0] if mine else None,
                    "open_capa": capa_form and not has_capa and doc.get("status") != "cancelled"}}


def readable_capas(conn: Connection, forms: Any, ctx: Ctx, codes: set[str]) -> set[str]:
    """The CAPA numbers among ``codes`` the caller may read (the CAPA form's read right and row scope): an NCR
    shows its CAPA's number only to who may read that CAPA (an owner reads her own; see docs/quality.md)."""
    if not codes:
        return set()
    try:
        compiled = forms.get(conn, CAPA)
    except NotFound:
        return set()
    access = form_access(compiled, ctx.actor)
    if not access.can("read") or not ctx.actor.reads_form(CAPA) or not access.visible("code"):
        return set()
    t, scope = compiled.main, access.scope("read")
    q = sa.select(t.c.code).where(t.c.code.in_(sorted(codes)[:1000]), t.c.deleted_at.is_(None))
    return {str(c) for (c,) in conn.execute(q.where(scope) if scope is not None else q)}


def _capa_access(conn: Connection, forms: Any, ctx: Ctx) -> bool:
    try:
        return form_access(forms.get(conn, CAPA), ctx.actor).can("create")
    except NotFound:
        return False
