"""Quality history for `mom demo` (质量演示数据): 25 receipts of the demo valve-body casting posted one a
day up to today, each opening its incoming inspection through the quality engine (the receipt hook), and
each inspection started and judged by the inspector 质检员小王 with five readings of 内孔 and 外径 and the
外观 check. The 内孔 readings are Montgomery's piston-ring inside diameters (Table 6.3, 25 samples of 5,
modelpacks/demo/fixtures/bore_readings.json); 外径 is the same table mirrored around 82 mm (90 = 164 − 74:
an illustration, not a second measured data set). One lot (the 22nd) has a scratched piece: judged
rejected, the engine blocks its stock lot and opens the NCR. Nothing is written around the engine:
receipts go through the stock posting, lots through the inspection_lot state machine.

Idempotent: each receipt carries a client_id (``quality-demo-01`` …), a receipt already there is not
posted again, and only a lot still pending / inspecting is started / judged — `mom demo` twice gives the
same content."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.engines.inventory import posting
from mom.engines.records import service as records
from mom.engines.records.context import SYSTEM, Actor, Ctx, actor_by_username
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx

ITEM = "QD-VB65"              # 铸造阀体 DN65（质量演示）: the quality pack's demo item, no other test receives it
PLAN = "阀体铸件来料检验（演示）"
SUPPLIER = "温州精密铸造有限公司"
LOCATION = "RM-01"            # core's demo plant: 原材料仓 01 库位
LOT_QTY = 100
REJECTED = 22                 # the lot with a scratched piece (外观划伤)
MIRROR = Decimal("164")       # 外径 = 164 − 内孔 (nominal 90 mm)


def _actor(engine: Engine, username: str) -> Actor:
    with read_tx(engine) as conn:
        return actor_by_username(conn, username) or SYSTEM


def _id(conn: Any, compiled: Any, field: str, value: Any) -> int | None:
    t = compiled.main
    return conn.execute(sa.select(t.c.id).where(t.c[field] == value, t.c.deleted_at.is_(None))).scalar()


def _day(today: dt.date, n: int, i: int, hour: int, tz: dt.tzinfo) -> dt.datetime:
    local = dt.datetime.combine(today - dt.timedelta(days=n - 1 - i), dt.time(hour, 0), tzinfo=tz)
    return local.astimezone(dt.timezone.utc)


def _results(bores: list[str], rejected: bool, scratch: int | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for s, v in enumerate(bores, start=1):
        rows.append({"sample_no": s, "char_seq": 1, "value": v})
        rows.append({"sample_no": s, "char_seq": 2, "value": str(MIRROR - Decimal(v))})
        bad = rejected and s == 3
        rows.append({"sample_no": s, "char_seq": 3, "ok": not bad,
                     **({"defect_code": scratch, "note": "外观划伤 8 mm（演示）"} if bad else {})})
    return rows


def load_quality_history(engine: Engine, registry: Any, demo_root: Path, tz: dt.tzinfo) -> Iterator[str]:
    """Post the demo receipts and judge their inspection lots (see the module docstring)."""
    path = demo_root / "fixtures" / "bore_readings.json"
    if not path.exists():
        return
    groups = json.loads(path.read_text(encoding="utf-8"))["subgroups"]
    store, inspector = _actor(engine, "admin"), _actor(engine, "qc1")
    n = len(groups)
    today = dt.datetime.now(dt.timezone.utc).astimezone(tz).date()
    posted = judged = 0
    for i, bores in enumerate(groups):
        with write_tx(engine) as conn:
            item_form, plan_form = registry.get(conn, "item"), registry.get(conn, "inspection_plan")
            item, plan = _id(conn, item_form, "code", ITEM), _id(conn, plan_form, "name", PLAN)
            loc = _id(conn, registry.get(conn, "location"), "code", LOCATION)
            if item is None or plan is None or loc is None:
                return            # the quality pack's demo data is not there (installed without --demo)
            ctx = Ctx(actor=store, now=_day(today, n, i, 9, tz), tz=tz)
            out = posting.create_and_post(conn, registry, ctx, "stock_receipt", {
                "client_id": f"quality-demo-{i + 1:02d}", "supplier": SUPPLIER,
                "note": "质量演示：阀体铸件到货（演示数据）",
                "lines": [{"item": item, "qty": LOT_QTY, "to_location": loc}]})
            posted += 0 if out.get("duplicate") else 1
            lot_form = registry.get(conn, "inspection_lot")
            t = lot_form.main
            row = conn.execute(sa.select(t.c.id, t.c.status).where(t.c.stock_receipt == out["id"],
                                                                   t.c.deleted_at.is_(None))).first()
            if row is None or row.status not in ("pending", "inspecting"):
                continue
            jctx = Ctx(actor=inspector, now=_day(today, n, i, 10, tz), tz=tz)
            if row.status == "pending":
                records.update_record(conn=conn, registry=registry, ctx=jctx, form="inspection_lot", record_id=int(row.id),
                                      patch={}, transition="start")
            scratch = _id(conn, registry.get(conn, "defect_code"), "name", "外观划伤")
            records.update_record(conn=conn, registry=registry, ctx=jctx, form="inspection_lot", record_id=int(row.id),
                                  patch={"results": _results(bores, i + 1 == REJECTED, scratch)}, transition="judge")
            # she opened the lot from her notification and judged it: the demo's history leaves no unread 待检 note
            conn.execute(T.notification.update().where(T.notification.c.kind == "inspection_lot",
                                                       T.notification.c.link == f"/inspect/{int(row.id)}",
                                                       T.notification.c.read_at.is_(None)).values(read_at=jctx.now))
            judged += 1
    if posted or judged:
        yield f"质量演示 / quality demo: 入库 {posted} 张、判定检验单 {judged} 张 / {posted} receipts posted, {judged} lots judged"
