"""Finding the lot a trace starts from: a number as printed or scanned (or an id), an item to tell
apart a number that several items use, and the lots of a heat number."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.access import form_access
from mom.engines.records.context import Actor
from mom.platform.errors import InvalidInput, NotFound

MAX_TEXT = 64


def _text(value: Any, zh: str, en: str, key: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(f"请填写{zh}", f"give the {en}", detail={"field": key})
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{zh}最长 {MAX_TEXT} 个字符", f"the {en} is at most {MAX_TEXT} characters", detail={"field": key})
    return text


def readable_lots(conn: Connection, forms: Any, actor: Actor) -> Any:
    """The lot form, refused in words when ``actor`` may not read lots."""
    compiled = forms.get(conn, "lot")
    form_access(compiled, actor).require("read")
    return compiled


def item_id(conn: Connection, forms: Any, item: Any) -> int:
    """An item given by its code (or id)."""
    text = _text(item, "物料", "item", "item")
    t = forms.get(conn, "item").main
    found = conn.execute(sa.select(t.c.id).where(t.c.code == text, t.c.deleted_at.is_(None))).first()
    if found is None and text.isdigit():
        found = conn.execute(sa.select(t.c.id).where(t.c.id == int(text), t.c.deleted_at.is_(None))).first()
    if found is None:
        raise NotFound(f"没有编码为「{text}」的物料", f"there is no item with code {text}", detail={"field": "item"})
    return int(found[0])


def find_lot(conn: Connection, forms: Any, actor: Actor, lot: Any, item: Any = None) -> dict[str, Any]:
    """The lot numbered ``lot`` (of ``item`` when given; else its id when ``lot`` is digits and no lot has
    that number). Unknown: 404; a number several items use: 422 naming them by item name."""
    compiled = readable_lots(conn, forms, actor)
    number = _text(lot, "批号或序列号", "lot or serial number", "lot")
    t, it = compiled.main, forms.get(conn, "item").main
    q = (sa.select(t, it.c.name.label("item_name"), it.c.code.label("item_code"))
         .select_from(t.outerjoin(it, it.c.id == t.c.item)).where(t.c.deleted_at.is_(None)))
    wanted = item_id(conn, forms, item) if item not in (None, "") else None
    if wanted is not None:
        q = q.where(t.c.item == wanted)
    rows = [dict(r) for r in conn.execute(q.where(t.c.number == number).order_by(t.c.id)).mappings()]
    if not rows and number.isdigit():
        rows = [dict(r) for r in conn.execute(q.where(t.c.id == int(number))).mappings()]
    if not rows:
        extra = "（该物料下）" if wanted is not None else ""
        raise NotFound(f"没有批号或序列号为「{number}」的批次{extra}：请核对标签上的号码",
                       f"no lot or serial numbered {number}{' for that item' if wanted is not None else ''}: check the label",
                       detail={"field": "lot"})
    if len(rows) > 1:
        names = "、".join(str(r["item_name"] or r["item_code"] or r["item"]) for r in rows)
        raise InvalidInput(f"批号「{number}」对应多个物料：{names}。请指定物料后再追溯",
                           f"lot number {number} belongs to several items ({names}): choose the item",
                           detail={"field": "item", "candidates": [{"item": r["item"], "item_code": r["item_code"],
                                                                    "item_name": r["item_name"], "lot": r["id"]} for r in rows]})
    return rows[0]


def heat_lots(conn: Connection, forms: Any, actor: Actor, heat_number: Any) -> list[dict[str, Any]]:
    """Every lot with heat number (炉号) ``heat_number``; none: 404."""
    compiled = readable_lots(conn, forms, actor)
    heat = _text(heat_number, "炉号", "heat number", "heat_number")
    t, it = compiled.main, forms.get(conn, "item").main
    rows = [dict(r) for r in conn.execute(
        sa.select(t, it.c.name.label("item_name"), it.c.code.label("item_code")).select_from(t.outerjoin(it, it.c.id == t.c.item))
        .where(t.c.heat_number == heat, t.c.deleted_at.is_(None)).order_by(t.c.id)).mappings()]
    if not rows:
        raise NotFound(f"没有炉号为「{heat}」的批次", f"no lot has heat number {heat}", detail={"field": "heat_number"})
    return rows
