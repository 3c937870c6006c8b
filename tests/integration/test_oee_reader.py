"""OEE from the database (engines/oee, /api/oee…): the demo plant's CNC-1 on the core pack's standard calendar
(标准日历: Mon–Sat 08:00–12:00 上午 and 13:00–17:00 下午, Asia/Shanghai), states from machine_state split at
the shift edges, counts from machine_count with the planned run time of the task on the machine, job reports
for a machine without counters, stop reasons in the losses, the andon board and classifying a stop."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.packs import manager
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows
from mom.platform.composition import form_registry
from mom.platform.db.engine import write_tx
from mom.platform.auth import service as auth
from tests.conftest import fixture_hash, login

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 30)        # a Monday


def at(h: int, m: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SH)


def _insert(conn: Any, form: str, rows: list[dict[str, Any]]) -> list[int]:
    compiled = form_registry().get(conn, form)
    ctx = Ctx.system(tz=SH)
    return [int(r["id"]) for r in insert_rows(conn, compiled, ctx, [V.Prepared(values=r, children={}) for r in rows],
                                              audit=False)]


def _ids(conn: Any, form: str, codes: list[str]) -> dict[str, int]:
    t = form_registry().get(conn, form).main
    return {r[1]: int(r[0]) for r in conn.execute(sa.select(t.c.id, t.c.code).where(t.c.code.in_(codes)))}


@pytest.fixture
def shop(core_pack: sa.engine.Engine, client: TestClient) -> dict[str, Any]:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=SH)
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
        auth.create_user(conn, username="guest", password_hash=fixture_hash("guest-pass-1"))
        m = _ids(conn, "machine", ["CNC-1", "CNC-2"])
        r = _ids(conn, "stop_reason", ["BRK-MECH", "PLN-MEET"])
        item = conn.execute(sa.select(form_registry().get(conn, "item").main.c.id).limit(1)).scalar_one()
        order = _insert(conn, "production_order", [{"item": item, "qty": Decimal(500)}])[0]
        t1, t2 = _insert(conn, "operation_task", [
            {"production_order": order, "seq": 10, "machine": m["CNC-1"], "qty": Decimal(500), "run_min": Decimal("0.5"),
             "actual_start": at(8), "status": "running"},
            {"production_order": order, "seq": 20, "machine": m["CNC-2"], "qty": Decimal(500), "run_min": Decimal(2),
             "actual_start": at(8), "status": "running"}])
        c1 = m["CNC-1"]
        _insert(conn, "machine_state", [
            {"machine": c1, "state": "down", "started_at": at(7), "ended_at": at(9), "source": "manual"},
            {"machine": c1, "state": "running", "started_at": at(9), "ended_at": at(11, 30), "source": "manual"},
            {"machine": c1, "state": "setup", "started_at": at(11, 30), "ended_at": at(12, 30), "source": "manual"},
            {"machine": c1, "state": "running", "started_at": at(12, 30), "ended_at": at(16), "source": "manual"},
            {"machine": c1, "state": "idle", "started_at": at(16), "ended_at": at(16, 30), "source": "manual",
             "stop_reason": r["PLN-MEET"]},
            {"machine": c1, "state": "running", "started_at": at(16, 30), "ended_at": at(18), "source": "manual"},
            {"machine": c1, "state": "down", "started_at": at(18), "ended_at": None, "source": "manual",
             "stop_reason": r["BRK-MECH"]},
            {"machine": m["CNC-2"], "state": "running", "started_at": at(8), "ended_at": at(17), "source": "manual"}])
        _insert(conn, "machine_count", [
            {"machine": c1, "bucket_start": at(10), "total": Decimal(200), "good": Decimal(196), "scrap": Decimal(4)},
            {"machine": c1, "bucket_start": at(12, 40), "total": Decimal(10), "good": Decimal(5), "scrap": Decimal(5)},
            {"machine": c1, "bucket_start": at(14), "total": Decimal(400), "good": Decimal(400), "scrap": Decimal(0)}])
        _insert(conn, "job_report", [
            {"task": t2, "event": "report", "good_qty": Decimal(180), "scrap_qty": Decimal(20), "machine": m["CNC-2"],
             "reported_at": at(12, 5)},
            {"task": t2, "event": "correct", "good_qty": Decimal(-10), "scrap_qty": Decimal(0), "machine": m["CNC-2"],
             "reported_at": at(12, 5)},
            {"task": t2, "event": "start", "machine": m["CNC-2"], "reported_at": at(8)}])
    return {"machines": m, "reasons": r, "admin": login(client, "boss", "boss-pass-1"), "engine": engine}


def _get(client: TestClient, headers: dict[str, str], url: str, status: int = 200) -> Any:
    r = client.get(url, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def test_shift_time_model_counts_and_run_time(client: TestClient, shop: dict[str, Any]) -> None:
    body = _get(client, shop["admin"], f"/api/oee?from={DAY}&to={DAY}&group=shift&machine=CNC-1")
    rows = {r["shift"]: r for r in body["rows"]}
    am, pm = rows["上午"], rows["下午"]
    h = 3600.0
    assert am["time"]["pot_s"] == 4 * h and am["time"]["adot_s"] == 1 * h and am["time"]["apt_s"] == 2.5 * h
    assert am["time"]["aust_s"] == 0.5 * h
    assert pm["time"]["pdot_s"] == 0.5 * h and pm["time"]["pbt_s"] == 3.5 * h and pm["time"]["apt_s"] == 3.5 * h
    # counts: 200 at 10:00 → 上午; 10 at 12:40 (after 上午 ended, before 下午) → 上午; 400 at 14:00 → 下午
    assert am["quantity"]["pq"] == 210 and pm["quantity"]["pq"] == 400
    assert am["effectiveness"] == pytest.approx(210 * 30 / (2.5 * h))
    assert pm["effectiveness"] == pytest.approx(400 * 30 / (3.5 * h))
    # the scrap at 12:40, ten minutes after the setup ended, is start-up scrap
    assert am["losses_s"]["startup_reject"] == 5 * 30 and am["losses_s"]["production_reject"] == 4 * 30
    day = _get(client, shop["admin"], f"/api/oee?from={DAY}&to={DAY}&group=day&machine=CNC-1")["rows"][0]
    assert day["availability"] == pytest.approx(6 / 7.5)
    assert day["oee"] == pytest.approx(day["availability"] * day["effectiveness"] * day["quality_rate"])


def test_job_reports_for_a_machine_without_counters_and_lines(client: TestClient, shop: dict[str, Any]) -> None:
    body = _get(client, shop["admin"], f"/api/oee?from={DAY}&to={DAY}&group=machine&line=WC-MACH")
    rows = {r["machine_code"]: r for r in body["rows"]}
    assert set(rows) == {"CNC-1", "CNC-2"}
    cnc2 = rows["CNC-2"]
    assert cnc2["quantity"]["pq"] == 190 and cnc2["quantity"]["gq"] == 170     # the correction counts
    assert cnc2["availability"] == 1.0
    # MTBF / MTTR from the maintenance engine: no repair order on these machines
    assert cnc2["reliability"]["failures"] == 0 and cnc2["reliability"]["mtbf_h"] is None
    assert cnc2["effectiveness"] == pytest.approx(190 * 120 / (8 * 3600))
    line = _get(client, shop["admin"], f"/api/oee?from={DAY}&to={DAY}&group=line&line=WC-MACH")["rows"]
    assert len(line) == 1 and line[0]["line_code"] == "WC-MACH"
    assert line[0]["time"]["apt_s"] == cnc2["time"]["apt_s"] + rows["CNC-1"]["time"]["apt_s"]


def test_losses_pareto_andon_and_classifying_a_stop(client: TestClient, shop: dict[str, Any]) -> None:
    h = shop["admin"]
    losses = _get(client, h, f"/api/oee/losses?from={DAY}&to={DAY}&machine=CNC-1")
    six = {x["category"]: x["seconds"] for x in losses["losses"]}
    assert six["breakdown"] == 3600 and six["setup"] == 1800
    assert losses["reasons"][0]["label"]["zh-CN"] == "未说明的停机" and losses["reasons"][0]["seconds"] == 3600
    stops = _get(client, h, "/api/oee/stops?machine=CNC-1&days=31")
    assert [s["state"] for s in stops["stops"]] == ["down"]        # the 07:00 stop has no reason; 18:00 has one
    assert any(r["code"] == "BRK-ELEC" for r in stops["reasons"])
    # a down / idle stop is offered only the reasons it may take (breakdown, minor stop): no planned or setup ones
    assert {r["loss_category"] for r in stops["reasons"]} <= {"breakdown", "minor_stop"}
    elec = next(r["id"] for r in stops["reasons"] if r["code"] == "BRK-ELEC")
    stop = stops["stops"][0]
    r = client.patch(f"/api/records/machine_state/{stop['id']}", headers=h,
                     json={"stop_reason": elec, "row_version": stop["row_version"]})
    assert r.status_code == 200, r.text
    assert _get(client, h, "/api/oee/stops?machine=CNC-1&days=31")["stops"] == []
    after = _get(client, h, f"/api/oee/losses?from={DAY}&to={DAY}&machine=CNC-1")
    assert after["reasons"][0]["code"] == "BRK-ELEC"
    board = _get(client, h, "/api/oee/andon")
    tiles = {t["code"]: t for t in board["machines"]}
    assert tiles["CNC-1"]["state"] == "down" and tiles["CNC-1"]["since"] == "2026-11-30T18:00:00+08:00"     # plant time


def test_bad_input_and_a_reader_without_state_rights(client: TestClient, shop: dict[str, Any]) -> None:
    h = shop["admin"]
    bad = _get(client, h, "/api/oee?from=2026-13-01&to=2026-12-01", 422)
    assert "起始日期" in str(bad)
    assert "分组方式" in str(_get(client, h, f"/api/oee?from={DAY}&to={DAY}&group=week", 422))
    assert "400" in str(_get(client, h, "/api/oee?from=2020-01-01&to=2026-12-01", 422))
    assert "设备" in str(_get(client, h, "/api/oee/stops?machine=NOPE", 422))
    qc = login(client, "guest", "guest-pass-1")      # a user without roles: the board or a refusal in words, never a 500
    r = client.get("/api/oee/andon", headers=qc)
    assert r.status_code in (200, 403), r.text
    if r.status_code == 403:
        assert "无权限" in r.text


def test_cli_table_and_losses(shop: dict[str, Any], cli: Any) -> None:
    out = cli("oee", "--from", DAY, "--to", DAY, "--group", "shift", "--machine", "CNC-1")
    assert out.exit_code == 0, out.output
    assert "上午" in out.output and "下午" in out.output and "合计 / total" in out.output
    assert "80.0%" in out.output          # the day's availability: 6 h of 7.5 h planned busy time
    losses = cli("oee", "--from", DAY, "--to", DAY, "--losses", "--machine", "CNC-1")
    assert losses.exit_code == 0 and "设备故障" in losses.output and "未说明的停机" in losses.output
    bad = cli("oee", "--from", "12/01", "--to", DAY)
    assert bad.exit_code != 0 and "起始日期" in bad.output


@pytest.mark.parametrize("query", ["from=9999-12-31&to=9999-12-31", "to=0001-01-01", "from=2026-12-01T08:00+14:00&to=x",
                                   "machine=%00&from=2026-12-01", "group=&from=2026-12-01", "line=NOPE"])
def test_odd_periods_are_refused_in_words_never_500(client: TestClient, shop: dict[str, Any], query: str) -> None:
    r = client.get(f"/api/oee?{query}", headers=shop["admin"])
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["message"]["zh-CN"]


def test_machines_without_states_show_no_data_and_leave_the_total_alone(client: TestClient, shop: dict[str, Any],
                                                                         cli: Any) -> None:
    # review of issue 23: machines with no recorded state (40 h planned, A 0 %) pulled the plant total down
    body = _get(client, shop["admin"], f"/api/oee?from={DAY}&to={DAY}&group=machine")
    rows = {r["machine_code"]: r for r in body["rows"]}
    silent = [r for r in rows.values() if r["time"]["pbt_s"] > 0 and r["time"]["no_data_s"] == r["time"]["pbt_s"]]
    assert silent, "the core plant has machines without states"
    assert all(r["availability"] is None and r["oee"] is None and "no_state_data" in r["flags"] for r in silent)
    known = [rows["CNC-1"], rows["CNC-2"]]
    apt = sum(r["time"]["apt_s"] for r in known)
    assert body["total"]["availability"] == pytest.approx(apt / sum(r["time"]["known_s"] for r in known))
    for r in [*rows.values(), body["total"]]:      # the time columns reconcile
        t = r["time"]
        assert t["pbt_s"] == pytest.approx(t["apt_s"] + t["aust_s"] + t["adet_s"] + t["adot_s"] + t["no_data_s"])
    out = cli("oee", "--from", DAY, "--to", DAY)
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith(silent[0]["machine_code"]))
    assert "无数据" in line and "0.0%" not in line


def test_the_last_year_is_accepted_and_the_next_refused(client: TestClient, shop: dict[str, Any]) -> None:
    assert _get(client, shop["admin"], "/api/oee?to=2200-12-31")["rows"] is not None
    bad = _get(client, shop["admin"], "/api/oee?to=2201-01-01", 422)
    assert "2200" in bad["message"]["zh-CN"]


def test_andon_counts_an_open_stop_from_yesterday_and_shows_repair_orders(client: TestClient,
                                                                          shop: dict[str, Any]) -> None:
    m = shop["machines"]
    with write_tx(shop["engine"]) as conn:
        s = form_registry().get(conn, "machine_state").main
        conn.execute(s.update().where(s.c.machine == m["CNC-2"], s.c.ended_at.is_(None)).values(ended_at=at(17)))
        _insert(conn, "machine_state", [{"machine": m["CNC-2"], "state": "down", "started_at": at(17),
                                         "source": "manual"}])       # down since 4 days, no reason, still open
        _insert(conn, "maintenance_order", [{"kind": "repair", "status": "reported", "machine": m["CNC-2"]}])
    board = _get(client, shop["admin"], "/api/oee/andon")
    tiles = {t["code"]: t for t in board["machines"]}
    assert tiles["CNC-2"]["unexplained_stops"] == 1 and tiles["CNC-2"]["repairs"] == 1
    assert tiles["CNC-2"]["since"].endswith("+08:00")
    states = [t["state"] for t in board["machines"]]
    rank = {"down": 0, "setup": 1, "idle": 2, "running": 3, "planned_stop": 4}
    assert [rank.get(x, 5) for x in states] == sorted(rank.get(x, 5) for x in states)      # down machines first
    for t in board["machines"]:         # before today's first shift: yesterday's OEE, as the report computes it
        if not t["planned_today"]:
            y = dt.date.fromisoformat(board["day"]) - dt.timedelta(days=1)
            row = _get(client, shop["admin"], f"/api/oee?from={y}&to={y}&machine={t['code']}")["rows"][0]
            assert t["yesterday_oee"] == (None if row["oee"] is None else pytest.approx(row["oee"]))
    guest = login(client, "guest", "guest-pass-1")
    r = client.get("/api/oee/andon", headers=guest)
    if r.status_code == 200:         # a reader of machines who may not read maintenance orders sees no count
        assert all(t["repairs"] is None for t in r.json()["machines"])


def test_timeline_times_are_in_the_plant_zone(client: TestClient, shop: dict[str, Any]) -> None:
    tl = _get(client, shop["admin"], f"/api/oee/timeline?machine=CNC-1&from={DAY}")
    assert tl["states"] and all(s["start"].endswith("+08:00") and s["end"].endswith("+08:00") for s in tl["states"])
    assert tl["states"][-1]["end"] == f"{DAY + dt.timedelta(days=1)}T00:00:00+08:00"     # the open stop, cut at midnight
