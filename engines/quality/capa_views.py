"""纠正预防措施 (CAPA / 8D) screen (issue 22): the list with due dates and how late, and one CAPA with its
eight disciplines D1–D8 as steps — each filled in or not, by whom and when (the record's audit trail: the
last change that filled the step) — and the effectiveness check (有效性验证).

Reads go through the record service (the ``capa`` form's read right and row scope: an owner reads their
own CAPAs); the audit trail is read only for a record the caller may read. The steps are changed with the
record API and the states with its transitions (start, verify, reopen, close).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.quality import doc_links
from mom.engines.records import query as Q
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.records.lookup import user_names
from mom.platform.errors import InvalidInput, Problem

CAPA, NCR = "capa", "nonconformance"
STEPS = (("d1_team", "D1", "成立小组", "Team"), ("d2_problem", "D2", "问题描述", "Problem description"),
         ("d3_containment", "D3", "临时围堵措施", "Containment"), ("d4_root_cause", "D4", "根本原因", "Root cause"),
         ("d5_corrective_action", "D5", "永久纠正措施", "Corrective action"),
         ("d6_verification", "D6", "实施与验证", "Implementation and verification"),
         ("d7_preventive_action", "D7", "预防再发生", "Preventive action"), ("d8_closure", "D8", "总结与表彰", "Closure"))
STATES = ("open", "in_progress", "verifying", "closed")
MAX_LIST = 200


def _label(compiled: Any, key: str, value: Any) -> dict[str, str] | None:
    f = compiled.definition.field(key)
    got = f.option_labels.get(value) if f is not None and value is not None else None
    return dict(got) if got else None


def overdue_days(due: Any, status: Any, today: dt.date) -> int:
    """Days past the due date of a CAPA not closed (0: not late)."""
    if not due or status == "closed":
        return 0
    d = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due)[:10])
    return max(0, (today - d).days)


def _today(ctx: Ctx) -> dt.date:
    return ctx.now.astimezone(ctx.tz).date()


def _effectiveness(compiled: Any, doc: Mapping[str, Any]) -> dict[str, Any]:
    """有效性验证: pending (not yet verifying), checking, effective, not effective."""
    value = doc.get("effectiveness")
    state = value or ("checking" if doc.get("status") == "verifying" else "pending")
    return {"state": state, "label": _label(compiled, "effectiveness", value), "checked_on": doc.get("effectiveness_check_date")}


def listing(conn: Connection, forms: Any, ctx: Ctx, *, status: str | None = None, mine: bool = False,
            overdue: bool = False, limit: int = 100) -> dict[str, Any]:
    """CAPAs the caller may read, due soonest first: not closed by default (``status`` comma-separated)."""
    raw = [x.strip() for x in (status or "").split(",") if x.strip()] or ["open", "in_progress", "verifying"]
    bad = [x for x in raw if x not in STATES]
    if bad:
        raise InvalidInput(f"状态「{bad[0][:20]}」不认识：可选 {', '.join(STATES)}", f"unknown status {bad[0][:20]!r}: use {', '.join(STATES)}",
                           problems=[Problem("/status", f"可选 {', '.join(STATES)}", f"one of {', '.join(STATES)}", "enum")])
    filters = [Q.Filter("status", "in", raw)]
    if mine and ctx.actor.id is not None:
        filters.append(Q.Filter("owner", "eq", ctx.actor.id))
    today = _today(ctx)
    if overdue:
        filters.append(Q.Filter("due_date", "lt", today.isoformat()))
    page = Q.list_records(conn=conn, registry=forms, ctx=ctx, form=CAPA, filters=filters, sort="due_date",
                          limit=max(1, min(int(limit), MAX_LIST)))
    compiled = forms.get(conn, CAPA)
    items = []
    for d in page["items"]:
        shown = d.get("_display") or {}
        items.append({"id": d["id"], "code": d.get("code"), "title": d.get("title"), "status": d.get("status"),
                      "status_label": _label(compiled, "status", d.get("status")), "owner": shown.get("owner"),
                      "due_date": d.get("due_date"), "overdue_days": overdue_days(d.get("due_date"), d.get("status"), today),
                      "steps_done": sum(1 for key, *_ in STEPS if (d.get(key) or "").strip()),
                      "ncr": shown.get("nonconformance"), "effectiveness": _effectiveness(compiled, d)})
    return {"items": items, "more": page.get("next") is not None, "today": today.isoformat()}


def _step_history(conn: Connection, forms: Any, ctx: Ctx, capa_id: int) -> dict[str, dict[str, Any]]:
    """Per 8D step: who filled it last and when (from the audit trail the caller may read)."""
    trail = S.record_audit(conn=conn, registry=forms, ctx=ctx, form=CAPA, record_id=capa_id)
    keys = {k for k, *_ in STEPS}
    out: dict[str, dict[str, Any]] = {}
    for e in trail:
        changes = e.get("changes")
        if not isinstance(changes, Mapping):
            continue
        for k, v in changes.items():
            if k not in keys:
                continue
            after = v[1] if isinstance(v, list) and len(v) == 2 and e.get("action") != "create" else v
            if isinstance(after, str) and after.strip():
                out[k] = {"by": e.get("actor"), "at": e.get("at")}
            else:
                out.pop(k, None)
    return out


def detail(conn: Connection, forms: Any, ctx: Ctx, capa_id: int) -> dict[str, Any]:
    """One CAPA: fields, the 8D steps with who/when, the effectiveness check, the NCR (a link), how late."""
    compiled = forms.get(conn, CAPA)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=CAPA, record_id=capa_id, compiled=compiled)
    shown = doc.get("_display") or {}
    history = _step_history(conn, forms, ctx, capa_id)
    steps = []
    current = None
    for key, tag, zh, en in STEPS:
        text = (doc.get(key) or "").strip() if key in doc else None
        done = bool(text)
        if not done and current is None:
            current = tag
        steps.append({"key": key, "tag": tag, "label": {"zh-CN": f"{tag} {zh}", "en": f"{tag} {en}"}, "text": text,
                      "done": done, **(history.get(key) or {"by": None, "at": None})})
    ncr = doc_links.one(conn, forms, ctx.actor, shown.get("nonconformance"), NCR) if doc.get("nonconformance") else None
    owner = doc.get("owner")
    return {"id": doc["id"], "code": doc.get("code"), "title": doc.get("title"), "status": doc.get("status"),
            "status_label": _label(compiled, "status", doc.get("status")), "row_version": doc.get("row_version"),
            "owner": shown.get("owner") or user_names(conn, {owner} if owner else set()).get(owner), "owner_id": owner,
            "due_date": doc.get("due_date"), "overdue_days": overdue_days(doc.get("due_date"), doc.get("status"), _today(ctx)),
            "steps": steps, "current_step": current, "effectiveness": _effectiveness(compiled, doc),
            "ncr": ncr, "closed_at": doc.get("closed_at"), "created_at": doc.get("created_at")}
