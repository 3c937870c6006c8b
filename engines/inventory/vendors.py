"""The supplier master (core's 供应商档案, form ``vendor``) as the engines and the pack migrations use it.

Until core 1.6.0 / quality 1.2.0 every ``supplier`` field was free text, so 温州阀门厂 and 温州阀门厂␠ split one
supplier's PPM and switching state. The upgrades turn those texts into vendors: one per distinct trimmed
text (code V0001, V0002, … after the highest such code already there; name = the text), and every row's
new ``supplier`` reference points at its vendor (:func:`adopt_texts`). The old text stays in the retired
column (``_r_<field id>``), so nothing is lost.

Engines that show a supplier in words read its name through :func:`names` (a lot card, the trace, an
SPC point); engines that key on a supplier (the switching state, the plan a receipt picks) use the id.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records import service as records
from mom.engines.records.context import SYSTEM, Ctx
from mom.platform.errors import InvalidInput, Problem

FORM = "vendor"
NAME_MAX = 100
_CODE = re.compile(r"^V(\d+)$")


def table(conn: Connection, forms: Any) -> sa.Table | None:
    """The vendor table, or None where core is older than 1.6.0."""
    try:
        return forms.get(conn, FORM).main
    except Exception:   # noqa: BLE001 — no vendor form published: callers fall back to no names
        return None


def names(conn: Connection, forms: Any, ids: Iterable[Any]) -> dict[int, str]:
    """Vendor id -> name of ``ids`` (deleted vendors too: a document keeps showing whom it came from)."""
    wanted = sorted({int(i) for i in ids if i is not None})
    t = table(conn, forms) if wanted else None
    if t is None:
        return {}
    out: dict[int, str] = {}
    for i in range(0, len(wanted), 900):
        out.update({int(r[0]): str(r[1]) for r in conn.execute(sa.select(t.c.id, t.c.name).where(t.c.id.in_(wanted[i:i + 900])))})
    return out


def name_of(conn: Connection, forms: Any, vendor_id: Any) -> str | None:
    return names(conn, forms, [vendor_id]).get(int(vendor_id)) if vendor_id is not None else None


def is_vendor_form(compiled: CompiledForm) -> bool:
    """Is ``compiled`` core's 供应商档案 (not some pack's own form of that name)?"""
    return compiled.name == FORM and {"code", "name", "status", "note"} <= set(compiled.main.c.keys())


def trim(compiled: CompiledForm, rows: Iterable[dict[str, Any]]) -> None:
    """A vendor's code and name are saved without surrounding spaces, so 「鞍钢 」 is refused beside 鞍钢 by the
    unique index (and a document typing either finds the same vendor)."""
    for row in rows:
        for key in ("code", "name"):
            v = row.get(key)
            if isinstance(v, str) and v != v.strip():
                if not v.strip():
                    label = compiled.definition.field(key).label   # type: ignore[union-attr]
                    zh, en = f"{label['zh-CN']}不能只有空格：请填写", f"{label['en']} cannot be only spaces: fill it in"
                    raise InvalidInput(zh, en, problems=[Problem(f"/{key}", zh, en, "required")])
                row[key] = v.strip()


#: documents that start new business with a supplier: a disabled (停用) vendor is not picked on them. Quality
#: documents (inspection, NCR, 退供应商, a lot) are about goods already received and keep accepting it.
NEW_BUSINESS = ("purchase_order", "stock_receipt")


def refuse_disabled(conn: Connection, forms: Any, compiled: CompiledForm, rows: list[tuple[Mapping[str, Any], str]],
                    old: Mapping[str, Any] | None = None) -> None:
    """422 when a new purchase order or receipt (``rows``: values and path prefix), or an edit that changes its
    supplier (``old``: the stored values), names a vendor marked 停用; nothing is written."""
    fields = [f for f in compiled.definition.scalar_fields
              if f.value_type == "reference" and f.raw.get("form") == FORM]
    picked = {int(v) for values, _ in rows for f in fields
              if (v := values.get(f.key)) is not None and (old is None or old.get(f.key) != v)}
    t = table(conn, forms) if picked and compiled.name in NEW_BUSINESS else None
    if t is None or "status" not in t.c:
        return
    off = {int(i): str(n) for i, n in conn.execute(sa.select(t.c.id, t.c.name).where(t.c.id.in_(sorted(picked)),
                                                                                     t.c.status == "disabled"))}
    problems = [Problem(f"{prefix}/{f.key}",
                        f"{f.label['zh-CN']}：{off[int(v)]} 在供应商档案中已停用，新单据不能再选它；请选择启用的供应商，"
                        "或请采购员在供应商档案中重新启用",
                        f"{f.label['en']}: {off[int(v)]} is disabled in the vendor master and is not picked on new "
                        "documents; choose an enabled vendor, or ask a purchaser to enable it again", "disabled")
                for values, prefix in rows for f in fields
                if (v := values.get(f.key)) is not None and int(v) in off and (old is None or old.get(f.key) != v)]
    if problems:
        raise InvalidInput(problems[0].zh if len(problems) == 1 else f"{len(problems)} 处选择了已停用的供应商，未保存",
                           problems[0].en if len(problems) == 1 else f"{len(problems)} disabled vendors picked; nothing was saved",
                           problems=problems)


UPGRADE_NOTE = "升级时由原供应商文字生成 / made from the supplier text at the upgrade"
DOCUMENT_NOTE = "由单据上填写的供应商名称自动建档，请采购员补全编码和联系方式 / made from a supplier name typed on a document: a purchaser completes its code and contacts"


def ids_for_texts(conn: Connection, forms: Any, texts: Iterable[Any], *, now: Any = None,
                  note: str = UPGRADE_NOTE) -> dict[str, int]:
    """Trimmed text -> vendor id, creating a vendor (code V0001…, name = the text) for each text no live vendor
    is named; empty texts are left out. Run as the system by the pack migrations and, for a document's
    supplier typed as a name no vendor has (a ``create_missing`` reference), by the inventory hooks."""
    wanted = sorted({str(x).strip()[:NAME_MAX] for x in texts if x is not None and str(x).strip()})
    t = table(conn, forms)
    if not wanted or t is None:
        return {}
    live = t.c.deleted_at.is_(None)
    found: dict[str, int] = {}
    for i in range(0, len(wanted), 900):
        found.update({str(r[1]): int(r[0]) for r in conn.execute(
            sa.select(t.c.id, t.c.name).where(t.c.name.in_(wanted[i:i + 900]), live))})
    missing = [w for w in wanted if w not in found]
    if missing:
        taken = {str(c) for (c,) in conn.execute(sa.select(t.c.code))}
        n = max((int(m.group(1)) for m in map(_CODE.match, taken) if m), default=0)
        docs = []
        for name in missing:
            n += 1
            while f"V{n:04d}" in taken:
                n += 1
            docs.append({"code": f"V{n:04d}", "name": name, "status": "enabled",
                         "note": note})
        ctx = Ctx(actor=SYSTEM, now=now) if now is not None else Ctx.system()
        made = records.create_records(conn=conn, registry=forms, ctx=ctx, form=FORM, docs=docs)
        found.update({d["name"]: int(m["id"]) for d, m in zip(docs, made)})
    return found


def adopt_texts(conn: Connection, forms: Any, name: str, old: str, new: str = "supplier", *, now: Any = None) -> int:
    """Point ``new`` (a reference to vendor) of every row of table ``name`` that is still empty at the vendor of
    its old text column ``old`` (a retired column, so read from the database itself); returns the rows filled.
    A table without ``old`` (installed fresh) is left alone."""
    if not sa.inspect(conn).has_table(name):
        return 0
    tbl = sa.Table(name, sa.MetaData(), autoload_with=conn)
    if old not in tbl.c or new not in tbl.c:
        return 0
    texts = [r[0] for r in conn.execute(sa.select(tbl.c[old]).where(tbl.c[old].is_not(None)).distinct())]
    by_text: dict[str, list[str]] = {}
    for x in texts:
        if str(x).strip():
            by_text.setdefault(str(x).strip()[:NAME_MAX], []).append(x)
    ids = ids_for_texts(conn, forms, by_text, now=now)
    filled = 0
    for text, raw in by_text.items():
        res = conn.execute(tbl.update().where(tbl.c[old].in_(raw), tbl.c[new].is_(None)).values({new: ids[text]}))
        filled += res.rowcount or 0
    return filled
