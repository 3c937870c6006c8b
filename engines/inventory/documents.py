"""The stock forms as the engine sees them: the core pack's forms by name, how each document moves
stock, and the small reading helpers the engine shares.

Each document's lines move stock one way (:data:`KINDS`): ``out`` takes the line's quantity out of
``from_location``, ``in`` puts it into ``to_location``, ``transfer`` does both, ``count`` books the
difference between the counted and the book quantity at ``location``, ``split`` and ``merge`` move
stock between lots of one item at one location (:mod:`lot_change`).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.engine_writes import EngineWrites, acting  # noqa: F401  (acting: re-exported)
from mom.platform.errors import NotFound

MOVE, BALANCE, LOT, LOCATION, WAREHOUSE, ITEM = "stock_move", "stock_balance", "lot", "location", "warehouse", "item"
ZERO = Decimal(0)
QTY = Decimal("0.0001")


@dataclass(frozen=True)
class Kind:
    """How a document form moves stock."""
    form: str
    zh: str
    en: str
    direction: str          # in | out | transfer | count | split | merge
    consumes: bool = False  # out of stock into production or to a customer: lot status must be released
    posted_here: bool = True  # False: another engine posts its lines (not a document of /api/inventory/documents)


KINDS: dict[str, Kind] = {k.form: k for k in (
    Kind("stock_receipt", "采购入库", "purchase receipt", "in"),
    Kind("stock_issue", "生产领料", "issue to production", "out", consumes=True),
    Kind("stock_transfer", "调拨", "transfer", "transfer"),
    Kind("stock_return", "退料", "return to stock", "in"),
    Kind("production_receipt", "完工入库", "production receipt", "in"),
    Kind("stock_shipment", "销售出库", "sales shipment", "out", consumes=True),
    Kind("stock_count", "盘点", "stock count", "count"),
    Kind("lot_split", "批次拆分", "lot split", "split"),
    Kind("lot_merge", "批次合并", "lot merge", "merge"),
    # the quality pack's 退供应商出库: blocked and quarantined lots go back too (an NCR's 退供应商)
    Kind("supplier_return", "退供应商出库", "return to supplier", "out"),
    # the equipment pack's 维修保养工单: its 备件领用 lines, issued by the maintenance engine (maintenance/spares.py)
    Kind("maintenance_order", "维修保养工单", "maintenance order", "out", consumes=True, posted_here=False),
)}

#: ``conn.info`` key: set while the engine itself writes (its hooks let those writes pass)
ENGINE_FLAG = "mom_inventory_engine"
_WRITES = EngineWrites(ENGINE_FLAG)
engine_writes = _WRITES.writes
engine_writing = _WRITES.writing


#: the fields a form needs for the engine to take it as the core pack's stock form
NEEDS = {MOVE: ("item", "location", "lot", "qty", "document_form", "document_id"),
         BALANCE: ("item", "location", "lot", "qty", "bucket"),
         LOT: ("item", "number", "status"),
         LOCATION: ("warehouse", "kind", "allow_negative")}


def is_core(compiled: CompiledForm) -> bool:
    """Is ``compiled`` the core pack's stock form of its name (the fields the engine binds to are there)?"""
    if compiled.name in KINDS:
        needs: tuple[str, ...] = ("status", "lines", "posted_at", "reversal_of", "reversed_by", "client_id")
    else:
        needs = NEEDS.get(compiled.name, ())
        if not needs:
            return False
    return all(compiled.definition.field(k) is not None for k in needs)


class TxForms:
    """``forms`` whose ``get`` is read once per name for the life of this object — one posting, one
    transaction (a posting names the same half-dozen forms again and again); the rest is ``forms``'."""

    def __init__(self, forms: Any) -> None:
        self.forms, self.hooks, self._memo = forms, forms.hooks, {}

    def get(self, conn: Connection, name: str) -> CompiledForm:
        got = self._memo.get(name)
        if got is None:
            got = self._memo[name] = self.forms.get(conn, name)
        return got

    def prefetch(self, conn: Connection, names: Any) -> None:
        """Read the current versions of ``names`` in one statement (a posting names half a dozen forms);
        a form left out (unknown, retired) is read by :meth:`get` as before, which says why."""
        wanted = [n for n in names if n not in self._memo]
        get_many = getattr(self.forms, "get_many", None)
        if len(wanted) > 1 and get_many is not None:
            self._memo.update(get_many(conn, wanted))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.forms, name)


def tx_forms(forms: Any) -> Any:
    """``forms`` with a per-posting memo (:class:`TxForms`), once."""
    return forms if isinstance(forms, TxForms) else TxForms(forms)


def get(conn: Connection, forms: Any, name: str) -> CompiledForm:
    """The compiled form ``name``, refused in words when the core pack's stock forms are not there."""
    try:
        compiled = forms.get(conn, name)
    except NotFound:
        compiled = None
    if compiled is None or not is_core(compiled):
        raise NotFound("没有安装「制造基础」模型包（core 1.4.0 及以上）的库存表单：请管理员先安装或升级它（mom pack upgrade core）",
                       "the stock forms of the core pack (1.4.0 or later) are not installed: an administrator installs or "
                       "upgrades it first (mom pack upgrade core)", detail={"form": name})
    return compiled


def dec(v: Any) -> Decimal:
    """A stored quantity as a Decimal (empty: 0)."""
    if v is None or v == "":
        return ZERO
    return v if isinstance(v, Decimal) else Decimal(str(v))


def qty_text(v: Any) -> str:
    """A quantity as a person writes it: 10, 10.5."""
    text = format(dec(v), "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


def row(conn: Connection, compiled: CompiledForm, rid: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The live row ``rid`` (None when missing or deleted); ``lock``: FOR UPDATE on PostgreSQL."""
    lock = lock and conn.dialect.name == "postgresql"
    key = ("inventory_row", lock)
    q = compiled.memo.get(key)
    if q is None:       # built once per form version: a posting reads a handful of rows
        t = compiled.main
        q = sa.select(t).where(t.c.id == sa.bindparam("rid"), t.c.deleted_at.is_(None))
        q = compiled.memo[key] = q.with_for_update() if lock else q
    found = conn.execute(q, {"rid": int(rid)}).mappings().first()
    return dict(found) if found is not None else None


def rows_by_id(conn: Connection, compiled: CompiledForm, ids: Any) -> dict[int, dict[str, Any]]:
    """Live rows of ``compiled`` by id, read in chunks."""
    wanted = sorted({int(i) for i in ids if i is not None})
    q = compiled.memo.get("inventory_rows")
    if q is None:
        t = compiled.main
        q = compiled.memo["inventory_rows"] = sa.select(t).where(t.c.id.in_(sa.bindparam("ids", expanding=True)),
                                                                 t.c.deleted_at.is_(None))
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(wanted), 900):
        out.update({int(r["id"]): dict(r) for r in conn.execute(q, {"ids": wanted[i:i + 900]}).mappings()})
    return out


def name_of(r: dict[str, Any] | None, rid: Any = None) -> str:
    """How a person names a row: its name, else its code or number, else #id."""
    if r is None:
        return f"#{rid}"
    return str(r.get("name") or r.get("code") or r.get("number") or f"#{r.get('id', rid)}")


def label(compiled: CompiledForm) -> str:
    return str(compiled.definition.label.get("zh-CN") or compiled.name)
