"""MRP on the database (issue 21 item 4), SQLite and PostgreSQL, through the API and the CLI as a planner:

a finished valve FG (lead time 6 working days, lot for lot) made of 2 castings RM (bought, lead time 3
days, fixed lots of 100) and an unrelated item X; a sales order for FG in weeks 4 and 5 and a forecast in
week 4 (the larger of forecast and orders counts); an open purchase order for RM in week 4 and one for X
that nothing needs. A weekly run suggests FG 40 and 20, RM one lot of 100, pegged to FG's suggestions and
through them to the sales order and the forecast; the purchase order for X is to be cancelled.
Confirming makes planned production orders and one purchase order, and confirming again makes nothing.
A net-change run after a new sales order for FG re-plans FG and RM only; X's suggestion stays.
Operators may not run or confirm; bad input is refused naming the field, writing nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

TZ = plant_tz("Asia/Shanghai")
WORKDAYS = {1, 2, 3, 4, 5, 6}             # the core pack's standard calendar: Monday to Saturday
HOLIDAYS: set[dt.date] = set()          # the fixture clears the calendar's holidays: the same weeks whenever it runs


def monday(weeks: int) -> dt.date:
    today = dt.datetime.now(TZ).date()
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)


def working_days_between(a: dt.date, b: dt.date) -> int:
    """Working days d with a <= d < b on the standard calendar (a lead time ending on b and starting on a)."""
    n, d = 0, a
    while d < b:
        n += d.isoweekday() in WORKDAYS and d not in HOLIDAYS
        d += dt.timedelta(days=1)
    return n


class Shop:
    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        self.client, self.engine = client, engine
        self.plan = login(client, "plan1", "plan1-pass-1")
        self.ids: dict[str, int] = {}

    def create(self, form: str, doc: dict[str, Any], who: dict[str, str] | None = None) -> dict[str, Any]:
        r = self.client.post(f"/api/records/{form}", json=doc, headers=who or self.plan)
        assert r.status_code == 201, r.text
        return r.json()

    def run(self, **body: Any) -> Any:
        return self.client.post("/api/mrp/runs", json=body, headers=self.plan)

    def suggestions(self, run: str, **params: Any) -> list[dict[str, Any]]:
        r = self.client.get(f"/api/mrp/runs/{run}", params={"limit": 1000, **params}, headers=self.plan)
        assert r.status_code == 200, r.text
        return r.json()["suggestions"]

    def count(self, table: str) -> int:
        with read_tx(self.engine) as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).scalar_one())


@pytest.fixture
def shop(core_bare, engine, client) -> Shop:  # type: ignore[no-untyped-def]
    """The core pack without its demo plant (`mom pack install core --yes`: a copy of the session's template,
    tests/conftest.py), a planner and an operator, and the plant described above."""
    with write_tx(engine) as conn:
        for name, roles in (("plan1", ["planner"]), ("op1", ["operator"])):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
        conn.execute(sa.text("DELETE FROM work_calendar__holidays"))
    s = Shop(client, engine)
    for code, name, kind, lead, rule, size in (("FG", "闸阀", "finished", 6, "lot_for_lot", None),
                                               ("RM", "阀体铸件", "raw", 3, "fixed", 100), ("X", "螺栓", "raw", 2, "lot_for_lot", None)):
        doc = {"code": code, "name": name, "item_type": kind, "unit": "件", "lead_time_days": lead, "lot_size_rule": rule}
        if size:
            doc["lot_size"] = size
        s.ids[code] = s.create("item", doc)["id"]
    s.ids["BOM"] = s.create("bom", {"code": "BOM-FG", "item": s.ids["FG"], "status": "active", "is_default": True, "base_qty": 1,
                                    "lines": [{"line_no": 1, "component": s.ids["RM"], "qty_per": 2}]})["id"]
    so = s.create("sales_order", {"customer": "温州阀门", "due_date": monday(5).isoformat(), "lines": [
        {"item": s.ids["FG"], "qty": 30, "due_date": monday(4).isoformat()}, {"item": s.ids["FG"], "qty": 20}]})
    s.ids["SO"] = so["id"]
    s.ids["FC"] = s.create("demand_forecast", {"kind": "forecast", "item": s.ids["FG"], "date": (monday(4) + dt.timedelta(days=2)).isoformat(),
                                               "qty": 40})["id"]
    s.create("purchase_order", {"lines": [           # the supplier (a vendor, core 1.6.0) is not what MRP reads
        {"item": s.ids["RM"], "qty": 50, "due_date": monday(4).isoformat()},
        {"item": s.ids["X"], "qty": 10, "due_date": monday(2).isoformat()}]})
    return s


def _by_item(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["item_code"], []).append(r)
    return out


def test_a_weekly_run_suggests_pegged_orders_and_confirming_makes_them_once(shop: Shop) -> None:
    r = shop.run(bucket="week", horizon=10)
    assert r.status_code == 201, r.text
    run = r.json()
    assert (run["mode"], run["bucket"], run["horizon"], run["start_date"]) == ("full", "week", 10, monday(0).isoformat())
    rows = _by_item(shop.suggestions(run["code"]))
    # FG: week 4 the forecast's 40 (it consumes the order's 30), week 5 the order's 20; due on the week's Monday,
    # released 6 working days before
    fg = [(Decimal(str(s["qty"])), s["due_date"], s["kind"], s["exception"]) for s in rows["FG"]]
    assert fg == [(40, monday(4).isoformat(), "make", None), (20, monday(5).isoformat(), "make", None)]
    for s in rows["FG"]:
        assert working_days_between(dt.date.fromisoformat(s["release_date"]), dt.date.fromisoformat(s["due_date"])) == 6
    # RM: 2 per FG → 80 needed in week 3, 40 in week 4; 50 arrive in week 4; one fixed lot of 100 covers
    # week 3 (when the first FG order is released) and 20 of week 4, the receipt the rest
    rm, expedite = rows["RM"]
    assert (Decimal(str(rm["qty"])), rm["kind"]) == (100, "buy")
    assert dt.date.fromisoformat(rm["due_date"]) == monday(3)
    assert [(p["demand_kind"], p["demand"], Decimal(str(p["qty"]))) for p in rm["pegging"]] == [
        ("planned", rows["FG"][0]["code"], 80), ("planned", rows["FG"][1]["code"], 20)]
    assert working_days_between(dt.date.fromisoformat(rm["release_date"]), monday(3)) == 3
    # the 50 arriving in week 4 would serve week 3 if it came a week earlier: expedite (提前) it
    assert (expedite["exception"], Decimal(str(expedite["qty"])), expedite["due_date"], expedite["purchase_order"] is not None) == (
        "expedite", 50, monday(3).isoformat(), True)
    # the purchase order for X is not needed within the horizon: cancel
    assert [(s["exception"], s["kind"], s["purchase_order"] is not None) for s in rows["X"]] == [("cancel", "buy", True)]
    # RM's lot followed up the levels: 80 serve FG's week-4 order (30 ordered + 10 more forecast: 60 and 20 of RM),
    # 20 FG's week-5 order (the sales order's line 2)
    d = shop.client.get(f"/api/mrp/suggestions/{rm['code']}/demands", headers=shop.plan)
    assert d.status_code == 200, d.text
    got = sorted((x["demand_kind"], x["demand"], Decimal(str(x["qty"]))) for x in d.json()["demands"])
    so_code = shop.client.get(f"/api/records/sales_order/{shop.ids['SO']}", headers=shop.plan).json()["code"]
    assert got == [("forecast", got[0][1], 20), ("sales_order", f"{so_code} 第1行", 60), ("sales_order", f"{so_code} 第2行", 20)]

    before = shop.count("production_order"), shop.count("purchase_order")
    wanted = [s["code"] for s in rows["FG"] + rows["RM"]]
    c = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": wanted}, headers=shop.plan)
    assert c.status_code == 200, c.text
    out = c.json()
    assert len(out["confirmed"]) == 4 and out["skipped"] == [] and out["purchase_order"]
    # the expedite is acknowledged: no new order, the planner moves the purchase order herself
    assert [c["order"] for c in out["confirmed"] if c["exception"] == "expedite"] == [None]
    assert (shop.count("production_order"), shop.count("purchase_order")) == (before[0] + 2, before[1] + 1)
    with read_tx(shop.engine) as conn:
        made = conn.execute(sa.text("SELECT qty, status, sales_order, created_by FROM production_order ORDER BY id")).all()
    # an order made for one sales order only names it; the week-4 order also serves the forecast
    assert [(float(q), st, so) for q, st, so, _ in made] == [(40.0, "planned", None), (20.0, "planned", shop.ids["SO"])]
    # again: nothing new, each said
    again = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": wanted}, headers=shop.plan).json()
    assert again["confirmed"] == [] and [s["status"] for s in again["skipped"]] == ["confirmed"] * 4
    assert "不再重复处理" in again["skipped"][0]["reason"]["zh-CN"]
    assert (shop.count("production_order"), shop.count("purchase_order")) == (before[0] + 2, before[1] + 1)
    # the next run counts the confirmed orders as scheduled receipts: FG and RM need nothing more
    rows2 = _by_item(shop.suggestions(shop.run(bucket="week", horizon=10).json()["code"], status="proposed"))
    assert "FG" not in rows2 and all(s["exception"] for s in rows2.get("RM", []))


def test_net_change_replans_only_below_the_changed_item(shop: Shop) -> None:
    first = shop.run(bucket="week", horizon=10).json()
    x_before = [s["id"] for s in shop.suggestions(first["code"]) if s["item_code"] == "X"]
    shop.create("sales_order", {"customer": "瑞安泵业", "due_date": monday(6).isoformat(),
                                "lines": [{"item": shop.ids["FG"], "qty": 15}]})
    r = shop.run(bucket="week", horizon=10, mode="net_change")
    assert r.status_code == 201, r.text
    net = r.json()
    assert net["mode"] == "net_change" and net["item_count"] == 2          # FG and RM, not X
    rows = _by_item(shop.suggestions(net["code"]))
    assert set(rows) == {"FG", "RM"}
    assert [Decimal(str(s["qty"])) for s in rows["FG"]] == [40, 20, 15]
    # X's suggestion from the first run is untouched
    assert [s["id"] for s in shop.suggestions(first["code"]) if s["item_code"] == "X"] == x_before


def test_net_change_after_a_bom_drops_a_component_replans_that_component(shop: Shop) -> None:
    """Pegging is not stored (engines/mrp/pegging.py): the BOM's record hook marks the components it listed
    before the change, so net change still finds RM once BOM-FG no longer lists it (X instead)."""
    first = shop.run(bucket="week", horizon=10).json()
    assert any(s["item_code"] == "RM" and s["exception"] in (None, "late") for s in shop.suggestions(first["code"]))
    r = shop.client.patch(f"/api/records/bom/{shop.ids['BOM']}", headers=shop.plan,
                          json={"lines": [{"line_no": 1, "component": shop.ids["X"], "qty_per": 1}], "row_version": 1})
    assert r.status_code == 200, r.text
    net = shop.run(bucket="week", horizon=10, mode="net_change").json()
    assert net["mode"] == "net_change"

    def plan(run: str) -> list[tuple]:
        return sorted((s["item_code"], s["kind"], str(Decimal(str(s["qty"])).normalize()), s["due_date"], s["exception"],
                       tuple((p["demand_kind"], str(p["qty"])) for p in s["pegging"])) for s in shop.suggestions(run))
    after_net = plan(net["code"])
    # RM is needed by nothing now: its planned orders are gone, its open purchase order is to be cancelled
    assert [s[4] for s in after_net if s[0] == "RM"] == ["cancel"]
    assert plan(shop.run(bucket="week", horizon=10).json()["code"]) == after_net


def test_pegging_rows_stored_by_an_earlier_version_are_shown_as_they_are(shop: Shop) -> None:
    """Suggestions written before pegging was computed on demand kept their stored rows (no pack upgrade
    touched them): the API shows those rows, not a recomputed pegging; a net change that keeps the suggestion
    drops them and its pegging is computed from then on."""
    run = shop.run(bucket="week", horizon=10).json()
    fg = [s for s in shop.suggestions(run["code"]) if s["item_code"] == "FG" and s["exception"] is None][0]
    computed = [(p["demand_kind"], p["demand"], Decimal(str(p["qty"]))) for p in fg["pegging"]]
    assert computed and all(k != "stock" for k, _, _ in computed)
    with write_tx(shop.engine) as conn:         # the row an earlier version would have written
        conn.execute(sa.text("INSERT INTO mrp_suggestion__pegging (parent_id, seq, demand_kind, demand, qty) "
                             "VALUES (:s, 1, 'stock', '批量余量', :q)"), {"s": fg["id"], "q": fg["qty"]})
    again = [s for s in shop.suggestions(run["code"]) if s["id"] == fg["id"]][0]
    assert [(p["demand_kind"], p["demand"], Decimal(str(p["qty"]))) for p in again["pegging"]] == [
        ("stock", "批量余量", Decimal(str(fg["qty"])))]
    with write_tx(shop.engine) as conn:         # FG re-planned by a change, its suggestion kept
        conn.execute(sa.text("UPDATE item SET updated_at = :now WHERE id = :i"), {"now": dt.datetime.now(dt.timezone.utc), "i": shop.ids["FG"]})
    net = shop.run(bucket="week", horizon=10, mode="net_change").json()
    kept = [s for s in shop.suggestions(net["code"]) if s["id"] == fg["id"]]
    assert kept and [(p["demand_kind"], p["demand"], Decimal(str(p["qty"]))) for p in kept[0]["pegging"]] == computed


def test_operators_may_not_run_or_confirm_and_bad_input_is_refused_in_words(shop: Shop, cli) -> None:  # type: ignore[no-untyped-def]
    op = login(shop.client, "op1", "op1-pass-1")
    r = shop.client.post("/api/mrp/runs", json={}, headers=op)
    assert r.status_code == 403 and "计划员" in r.json()["message"]["zh-CN"]
    assert shop.count("mrp_run") == 0
    for body, field in (({"bucket": "month"}, "/bucket"), ({"horizon": 0}, "/horizon"), ({"horizon": "26"}, "/horizon"),
                        ({"buckets": "week"}, "/buckets")):
        r = shop.run(**body)
        assert r.status_code == 422, r.text
        assert [p["path"] for p in r.json()["problems"]] == [field]
    assert shop.count("mrp_run") == 0
    run = shop.run().json()
    first = shop.suggestions(run["code"])[0]["code"]
    r = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": [first, "MS-NOPE"]}, headers=shop.plan)
    assert r.status_code == 404 and "MS-NOPE" in r.json()["message"]["zh-CN"]
    assert shop.count("production_order") == 0
    r = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": [first]}, headers=op)
    assert r.status_code == 403
    r = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": "all"}, headers=shop.plan)
    assert r.status_code == 422
    # the CLI runs the same engine
    res = cli("mrp", "run", "--bucket", "day", "--horizon", "60", "--as", "plan1", "--json")
    assert res.exit_code == 0, res.output
    assert '"bucket": "day"' in res.output
    res = cli("mrp", "ignore", first, "--as", "plan1")
    assert res.exit_code != 0 or "MS-" in res.output


def test_a_new_run_replaces_proposed_suggestions_and_keeps_confirmed_ones_with_their_pegging_text(shop: Shop) -> None:
    first = shop.run(bucket="week", horizon=10).json()
    rows = _by_item(shop.suggestions(first["code"]))
    rm = next(s for s in rows["RM"] if not s["exception"])
    r = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": [rm["id"]]}, headers=shop.plan)
    assert r.status_code == 200 and r.json()["confirmed"][0]["order"], r.text
    second = shop.run(bucket="week", horizon=10).json()
    # the first run's FG suggestions (proposed) are gone; RM's confirmed one stays, its pegging still says which
    # suggestion it served, the link to the removed suggestion dropped
    old = _by_item(shop.suggestions(first["code"]))
    assert "FG" not in old and [s["status"] for s in old["RM"]] == ["confirmed"]
    assert [(p["demand"], p["parent_suggestion"]) for p in old["RM"][0]["pegging"]] == [
        (rows["FG"][0]["code"], None), (rows["FG"][1]["code"], None)]
    r = shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": [rows["FG"][0]["code"]]}, headers=shop.plan)
    assert r.status_code == 404 and "新的 MRP 运算" in r.json()["message"]["zh-CN"]
    runs = shop.client.get(f"/api/mrp/runs/{first['code']}", params={"limit": 1}, headers=shop.plan).json()["run"]
    assert runs["status"] == "superseded"
    assert shop.client.get(f"/api/mrp/runs/{second['id']}", headers=shop.plan).json()["run"]["status"] == "done"
    # bounded input: a page of 1,001 or an id beyond any is refused or not found in words, never a 500
    assert shop.client.get(f"/api/mrp/runs/{second['id']}", params={"limit": 1001}, headers=shop.plan).status_code == 422
    assert shop.client.get("/api/mrp/runs/99999999999999999999", headers=shop.plan).status_code == 404
    assert shop.client.post("/api/mrp/suggestions/confirm", json={"suggestions": [2**70]}, headers=shop.plan).status_code == 422


def test_suggestion_numbers_follow_the_pattern_one_after_another_across_runs(shop: Shop) -> None:
    """The numbers a run gives (one reservation, a counter) are the pattern's MS-{yyyyMMdd}-{seq:5}, with no
    gap and no repeat, and the next run goes on from where the last stopped."""
    codes, n = [], 0
    for _ in range(2):      # a full run removes the last run's proposed suggestions: each run read back at once
        run = shop.run(bucket="week", horizon=10).json()
        codes += sorted(s["code"] for s in shop.suggestions(run["code"]))
        n += run["suggestion_count"]
    day = dt.datetime.fromisoformat(run["run_at"]).astimezone(TZ).strftime("%Y%m%d")
    assert n > 0 and codes == [f"MS-{day}-{k:05d}" for k in range(1, n + 1)]
