"""Document numbers in quality texts as links the reader may follow (issue 22, NCR screen and lot screen).

An NCR's disposition line says in words what it posted (``posted_document``: 「TR-20261203-0001」,
「批次 L1 放行；待检区调拨单 TR-…（草稿，待仓管员过账）」, 「返工挑选后复检 QI-…」, a job report 「JR-…」);
an inspection lot names its draft transfer out of quarantine (``release_transfer``). This module finds the
record behind each number and gives it — number, form, id, state, in-app link — only to a reader who may
read that record (its form's read right and row scope, or a workflow task on it). A number the reader may
not read is taken out of the words: they see neither the link nor the number.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.access import record_readable
from mom.engines.records.context import Actor
from mom.platform.errors import NotFound

#: a document number as the packs' auto-numbers write it: TR-20261203-0001, RTV-…, QI-…, JR-…-00001, LS-…
CODE = re.compile(r"\b[A-Z][A-Z0-9]{0,7}-\d{8}-\d{3,6}\b")
#: the forms a quality text may name, in the order they are searched
FORMS = ("stock_transfer", "supplier_return", "inspection_lot", "job_report", "lot_split", "nonconformance", "capa",
         "stock_issue", "stock_receipt")
HIDDEN_ZH, HIDDEN_EN = "（无权查看的单据）", "(a document you may not read)"


def route(form: str, rid: int) -> str:
    """The app's page of a record: the inspection entry, the NCR and CAPA screens, else the record page."""
    return {"inspection_lot": f"/inspect/{rid}", "nonconformance": f"/ncr/{rid}", "capa": f"/capa/{rid}"}.get(
        form, f"/f/{form}/{rid}")


def _status(compiled: Any, value: Any) -> dict[str, str] | None:
    f = compiled.definition.field("status")
    got = f.option_labels.get(value) if f is not None and value is not None else None
    return dict(got) if got else None


def find(conn: Connection, forms: Any, actor: Actor, code: str, *, among: tuple[str, ...] = FORMS) -> dict[str, Any] | None:
    """The record numbered ``code`` in the first of ``among`` holding it, as a link — or ``{"hidden": True}``
    when the reader may not read it, None when no form holds the number."""
    for name in among:
        try:
            compiled = forms.get(conn, name)
        except NotFound:
            continue
        t = compiled.main
        if "code" not in t.c:
            continue
        cols = [t.c.id] + ([t.c.status] if "status" in t.c else [])
        row = conn.execute(sa.select(*cols).where(t.c.code == code, t.c.deleted_at.is_(None)).limit(1)).mappings().first()
        if row is None:
            continue
        if not record_readable(conn, forms, actor, name, int(row["id"])):
            return {"hidden": True}
        return {"code": code, "form": name, "form_label": dict(compiled.definition.label or {}), "id": int(row["id"]),
                "status": row.get("status"), "status_label": _status(compiled, row.get("status")),
                "link": route(name, int(row["id"]))}
    return None


def in_words(conn: Connection, forms: Any, actor: Actor, text: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """``text`` with the numbers the reader may not read taken out, and the links of those they may."""
    if not text:
        return None, []
    out, docs, seen = str(text), [], set()
    for code in CODE.findall(out):
        if code in seen:
            continue
        seen.add(code)
        got = find(conn, forms, actor, code)
        if got is None:
            continue
        if got.get("hidden"):
            out = out.replace(code, HIDDEN_ZH)
        else:
            docs.append(got)
    return out, docs


def one(conn: Connection, forms: Any, actor: Actor, code: Any, form: str) -> dict[str, Any] | None:
    """The record ``code`` of ``form`` as a link, or None (no number, not found, or not readable)."""
    if not code:
        return None
    got = find(conn, forms, actor, str(code), among=(form,))
    return got if got and not got.get("hidden") else None


def release_link(conn: Connection, forms: Any, actor: Actor, lot: Mapping[str, Any]) -> dict[str, Any] | None:
    """An inspection lot's release: its draft transfer out of the 待检区 (a link, to who may read it) and, when
    the warehouse had no normal location, what the note says to do (every reader of the lot sees that)."""
    transfer = one(conn, forms, actor, lot.get("release_transfer"), "stock_transfer")
    note = next((part.strip() for part in re.split(r"[\n；]", str(lot.get("note") or ""))
                 if "没有启用的「正常」库位" in part), None)
    if transfer is None and note is None:
        return None
    return {"transfer": transfer, "note": note}
