"""Net change gives the plan a full regeneration gives (docs/mrp.md, "Runs"; issue 21 item 9), SQLite and
PostgreSQL: a generated plant of 4 finished valves, 6 sub-assemblies and 6 bought parts (shared between
parents, so low-level codes differ from the levels), lot rules mixed, 30 sales order lines over 8 weeks.
After a full run the planner's world changes — a sales order line's quantity, a new order, a forecast, a
BOM line's quantity, an item's lead time — and a net-change run re-plans only part of the items; the
proposed suggestions it leaves (item, kind, quantity, dates, exception, and every pegging row, a parent
suggestion named by what it is) are exactly those a full regeneration then writes. A net change right
after a full run re-plans nothing and changes nothing. Pegging is not stored for proposed suggestions but
computed when asked for (engines/mrp/pegging.py): right after a run it is exactly the pegging the planner
computed in memory during the run; the dropped BOM line's component is re-planned through the BOM's record
hook (engines/mrp/hooks.py)."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.mrp import documents as D
from mom.engines.mrp import pegging, runs, writing
from mom.engines.mrp import plan as M
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx

TZ = plant_tz("Asia/Shanghai")


def _ctx() -> Ctx:
    return Ctx.system(tz=TZ)


def _plant(engine: sa.engine.Engine) -> dict[str, Any]:
    rnd = random.Random(21)
    forms, ctx = form_registry(), _ctx()
    today = dt.datetime.now(TZ).date()
    ids: dict[str, Any] = {}
    with write_tx(engine) as conn:
        def make(form: str, doc: dict[str, Any]) -> int:
            return int(S.create_records(conn=conn, registry=forms, ctx=ctx, form=form, docs=[doc])[0]["id"])

        levels: list[list[int]] = []
        for depth, (n, kind) in enumerate(((4, "finished"), (6, "semi"), (6, "raw"))):
            row = []
            for k in range(n):
                rule = ("lot_for_lot", "fixed", "multiple", "minimum")[(depth + k) % 4]
                doc = {"code": f"L{depth}-{k}", "name": f"物料 {depth}-{k}", "unit": "件", "item_type": kind,
                       "lead_time_days": rnd.randint(1, 8), "lot_size_rule": rule}
                if rule != "lot_for_lot":
                    doc["lot_size"] = 30
                if k == 1:
                    doc["safety_stock"] = 10
                row.append(make("item", doc))
            levels.append(row)
        boms = {}
        for depth in (0, 1):
            for i, parent in enumerate(levels[depth]):
                comps = rnd.sample(levels[depth + 1], 2) + ([rnd.choice(levels[2])] if depth == 0 and i % 2 == 0 else [])
                boms[parent] = make("bom", {"code": f"BOM-{parent}", "item": parent, "status": "active", "is_default": True,
                                            "base_qty": 1, "lines": [{"line_no": n + 1, "component": c, "qty_per": rnd.choice((1, 2))}
                                                                     for n, c in enumerate(dict.fromkeys(comps))]})
        orders = []
        for o in range(6):
            due = today + dt.timedelta(days=rnd.randint(7, 50))
            orders.append(make("sales_order", {"customer": f"客户 {o}", "due_date": due.isoformat(), "lines": [
                {"item": rnd.choice(levels[0]), "qty": rnd.randint(5, 40)} for _ in range(5)]}))
        ids.update(levels=levels, boms=boms, orders=orders)
    return ids


def _run(engine: sa.engine.Engine, mode: str) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return runs.run(conn, form_registry(), _ctx(), bucket="week", horizon=8, mode=mode)


def _proposed(engine: sa.engine.Engine) -> tuple[Counter, Counter]:
    """The proposed suggestions and their pegging rows as a planner reads them (a parent suggestion by what it is)."""
    with read_tx(engine) as conn:
        rows = conn.execute(sa.text("SELECT id, item, kind, qty, release_date, due_date, exception, level FROM mrp_suggestion "
                                    "WHERE status = 'proposed' AND deleted_at IS NULL")).all()
        what = {r.id: (r.item, r.kind, Decimal(str(r.qty)), str(r.release_date), str(r.due_date), r.exception, r.level) for r in rows}
        got = pegging.pegs_of(conn, D.forms_of(conn, form_registry()), list(what), TZ)
        pegs = {i: [(p["demand_kind"], what.get(p["parent_suggestion"]) if p["demand_kind"] == "planned" else p["demand"],
                     p["qty"], p["sales_order"], p["forecast"]) for p in ps] for i, ps in got.items() if ps}
    return Counter(what.values()), Counter((what[i], tuple(v)) for i, v in pegs.items())


def _pegging_as_planned(engine: sa.engine.Engine) -> tuple[dict[int, list[tuple]], dict[int, list[tuple]]]:
    """The pegging of every proposed suggestion as computed on demand, and as the run's own plan computed it in
    memory (the same problem planned again with pegging, its planned orders matched to the suggestions in the
    order the run wrote them)."""
    with read_tx(engine) as conn:
        f = D.forms_of(conn, form_registry())
        ids = [int(i) for (i,) in conn.execute(sa.text("SELECT id FROM mrp_suggestion WHERE status = 'proposed' ORDER BY id"))]
        codes = dict(conn.execute(sa.text("SELECT id, code FROM mrp_suggestion")).all())
        on_demand = {i: [tuple(p[k] for k in pegging.KEYS) for p in ps] for i, ps in pegging.pegs_of(conn, f, ids, TZ).items()}
        problem, _ = D.read_problem(conn, f, today=dt.datetime.now(TZ).date(), tz=TZ, bucket="week", horizon=8)
    result = M.plan(problem)
    entries = writing.entries(result, 0)
    assert len(entries) == len(ids)
    id_of = {e.number: (sid, codes[sid]) for e, sid in zip(entries, ids) if e.number}
    planned = {}
    for e, sid in zip(entries, ids):
        rows = [writing.peg_values(p, id_of) for p in e.pegs]
        planned[sid] = [(r[0], r[1], r[3], r[4], r[5], r[6], r[2]) for r in rows]
    return {i: v for i, v in on_demand.items() if v}, {i: v for i, v in planned.items() if v}


def test_net_change_leaves_the_plan_a_full_run_makes(core_bare: sa.engine.Engine) -> None:
    engine = core_bare
    ids = _plant(engine)
    full = _run(engine, runs.FULL)
    assert full["suggestion_count"] > 20
    on_demand, as_planned = _pegging_as_planned(engine)
    assert on_demand == as_planned
    with read_tx(engine) as conn:
        planned_orders = conn.execute(sa.text("SELECT count(*) FROM mrp_suggestion WHERE exception IS NULL OR exception = 'late'")).scalar()
        assert conn.execute(sa.text("SELECT count(*) FROM mrp_suggestion__pegging")).scalar() == 0    # a run stores none
    assert len(on_demand) == planned_orders > 20          # every planned order is pegged (an exception on an open order is not)
    before = _proposed(engine)
    # nothing changed: nothing re-planned, nothing rewritten
    idle = _run(engine, runs.NET_CHANGE)
    assert (idle["mode"], idle["item_count"], idle["ids_written"]) == ("net_change", 0, 0)
    assert _proposed(engine) == before

    forms, ctx = form_registry(), _ctx()
    fg, semi = ids["levels"][0], ids["levels"][1]
    with write_tx(engine) as conn:
        def update(form: str, rid: int, patch: dict[str, Any]) -> None:
            S.update_record(conn=conn, registry=forms, ctx=ctx, form=form, record_id=rid, patch=patch)

        so = S.get_record(conn=conn, registry=forms, ctx=ctx, form="sales_order", record_id=ids["orders"][0])
        lines = [{k: v for k, v in line.items() if k in ("item", "qty", "due_date")} for line in so["lines"]]
        lines[0]["qty"] = Decimal(str(lines[0]["qty"])) + 7
        update("sales_order", ids["orders"][0], {"lines": lines})
        S.create_records(conn=conn, registry=forms, ctx=ctx, form="sales_order", docs=[{
            "customer": "新客户", "due_date": (dt.datetime.now(TZ).date() + dt.timedelta(days=30)).isoformat(),
            "lines": [{"item": fg[1], "qty": 12}]}])
        S.create_records(conn=conn, registry=forms, ctx=ctx, form="demand_forecast", docs=[{
            "kind": "forecast", "item": fg[2], "date": (dt.datetime.now(TZ).date() + dt.timedelta(days=40)).isoformat(), "qty": 90}])
        bom = S.get_record(conn=conn, registry=forms, ctx=ctx, form="bom", record_id=ids["boms"][semi[0]])
        blines = [{k: v for k, v in line.items() if k in ("line_no", "component", "qty_per")} for line in bom["lines"]]
        blines[0]["qty_per"] = 3
        dropped = blines.pop()                       # a component the BOM no longer lists
        assert blines and dropped["component"] != blines[0]["component"]
        update("bom", ids["boms"][semi[0]], {"lines": blines})
        update("item", semi[3], {"lead_time_days": 9})
    net = _run(engine, runs.NET_CHANGE)
    assert net["mode"] == "net_change" and 0 < net["item_count"] < 16
    after_net = _proposed(engine)
    assert after_net != before                       # the changes moved the plan
    again = _run(engine, runs.FULL)
    assert again["suggestion_count"] == sum(after_net[0].values())
    assert _proposed(engine) == after_net
