"""The quality pack's reports and the 质量看板 dashboard (issue 22): the pack installed over core's demo plant,
inspections entered and judged through the inspection API (the engine decides accepted / rejected from the
readings), job reports made through the production engine, and every figure checked by hand:

- supplier_quality — 温州紧固件厂 delivers three lots of 螺栓 M12×50 (500, 500 and 1,000 pieces); the second
  lot has a diameter out of tolerance and is rejected. Lot acceptance 2 / 3 = 66.7 %; PPM counts the pieces of
  the lots rejected per million received: 500 / (500 + 500 + 1,000) × 10⁶ = 250,000 (the second lot also has
  two scratched pieces: 3 pieces per lot, Ac 0 in every class). 瑞安标准件厂's two lots of
  200 are both accepted: 100 %, PPM 0.
- defect_pareto — the nonconforming readings by defect code: 外观划伤 (minor) 2, 尺寸超差 (major) 1;
  cumulative 2 / 3 = 66.67 %, then 100 %.
- first_pass_yield — the casting operation of one order reports 8 good, 1 scrap and 1 rework:
  FPY = 8 / (8 + 1 + 1) = 80 %.
- inspection_backlog — two lots left pending (one IQC, one started: 检验中) are the backlog; judged ones are not.

Both databases (MOM_TEST_DATABASE_URL for PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.production.release import release
from mom.engines.production.reports import report
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import create_records
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

TZ = plant_tz("Asia/Shanghai")
BOLT_SUPPLIER, NUT_SUPPLIER = "温州紧固件厂", "瑞安标准件厂"


def _install_quality(engine: sa.engine.Engine) -> None:
    from mom.engines.packs import manager

    manager.execute(engine, None, "install", "quality", forms_factory=form_registry, demo=False, tz=TZ)


@pytest.fixture
def qc(core_pack: sa.engine.Engine, client: TestClient) -> dict[str, Any]:
    """core --demo plus the quality pack; admin sets up an IQC plan (螺栓 M12×50: 外径 12 ± 0.1 mm major, 外观
    minor; 3 pieces per lot); qc1 (质检员) enters and judges; qe1 (质量工程师) reads the reports."""
    _install_quality(core_pack)
    with write_tx(core_pack) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
        auth.create_user(conn, username="qc1", password_hash=fixture_hash("qc1-pass-1"), display_name="质检员小李", roles=["qc_inspector"])
        auth.create_user(conn, username="qe1", password_hash=fixture_hash("qe1-pass-1"), display_name="质量工程师小王", roles=["quality_engineer"])
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])
    admin = login(client, "boss", "boss-pass-1")
    items = {r["code"]: r["id"] for r in _ok(client.get("/api/records/item", params={"limit": 100}, headers=admin))["items"]}
    codes = {r["code"]: r["id"] for r in _ok(client.get("/api/records/defect_code", params={"limit": 100}, headers=admin))["items"]}
    plan = _ok(client.post("/api/records/inspection_plan", headers=admin, json={
        "name": "螺栓来料检验", "inspection_type": "iqc", "item": items["PT-M12"], "fixed_sample_size": 3,
        "characteristics": [
            {"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": "12", "lsl": "11.9", "usl": "12.1", "unit": "mm"},
            {"seq_no": 2, "name": "外观", "kind": "attribute", "defect_class": "minor"}]}))
    return {"admin": admin, "qc": login(client, "qc1", "qc1-pass-1"), "qe": login(client, "qe1", "qe1-pass-1"),
            "op": login(client, "op1", "op1-pass-1"), "items": items, "codes": codes, "plan": plan["id"], "engine": core_pack}


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _lot(client: TestClient, qc: dict[str, Any], supplier: str, qty: int) -> int:
    return _ok(client.post("/api/records/inspection_lot", headers=qc["admin"], json={
        "inspection_type": "iqc", "plan": qc["plan"], "item": qc["items"]["PT-M12"], "supplier": supplier, "lot_qty": qty}))["id"]


def _inspect(client: TestClient, qc: dict[str, Any], lot: int, diameters: list[str],
             looks: list[str | None], *, judge: bool = True) -> dict[str, Any]:
    """Three samples: their diameters (外径) and look (外观: None = fine, else the defect code found)."""
    cells: list[dict[str, Any]] = []
    for n, (d, look) in enumerate(zip(diameters, looks), start=1):
        out = Decimal(d) < Decimal("11.9") or Decimal(d) > Decimal("12.1")
        cells.append({"sample_no": n, "char_seq": 1, "value": d, **({"defect_code": qc["codes"]["D001"]} if out else {})})
        cells.append({"sample_no": n, "char_seq": 2, "ok": look is None, **({"defect_code": qc["codes"][look]} if look else {})})
    _ok(client.put(f"/api/quality/inspections/{lot}/results", headers=qc["qc"], json={"cells": cells}))
    if not judge:
        return {}
    return _ok(client.post(f"/api/quality/inspections/{lot}/judge", headers=qc["qc"], json={}))


def _result(engine: sa.engine.Engine, lot: int) -> tuple[str, str]:
    with read_tx(engine) as conn:
        r = conn.execute(sa.text("SELECT status, result FROM inspection_lot WHERE id = :i"), {"i": lot}).one()
    return r[0], r[1]


@pytest.fixture
def judged(qc: dict[str, Any], client: TestClient) -> dict[str, Any]:
    """Five IQC lots judged (A2 rejected: one diameter out of tolerance and two scratches; 3 pieces per lot,
    so Ac 0 in every class), and two left open (one pending, one started)."""
    ok3 = ["12.00", "12.02", "11.98"]
    lots = {
        "A1": (_lot(client, qc, BOLT_SUPPLIER, 500), ok3, [None, None, None]),
        "A2": (_lot(client, qc, BOLT_SUPPLIER, 500), ["12.00", "12.15", "12.01"], ["D002", "D002", None]),
        "A3": (_lot(client, qc, BOLT_SUPPLIER, 1000), ok3, [None, None, None]),
        "B1": (_lot(client, qc, NUT_SUPPLIER, 200), ok3, [None, None, None]),
        "B2": (_lot(client, qc, NUT_SUPPLIER, 200), ok3, [None, None, None]),
    }
    for lot, diameters, looks in lots.values():
        _inspect(client, qc, lot, diameters, looks)
    pending = _lot(client, qc, BOLT_SUPPLIER, 300)
    started = _lot(client, qc, NUT_SUPPLIER, 100)
    _inspect(client, qc, started, ok3, [None, None, None], judge=False)
    return {**qc, "lots": {k: v[0] for k, v in lots.items()}, "pending": pending, "started": started}


def _data(client: TestClient, headers: dict[str, str], name: str, **params: Any) -> dict[str, Any]:
    return _ok(client.get(f"/api/reports/{name}/data", params=params, headers=headers))


def test_supplier_quality_gives_acceptance_rate_and_ppm_per_supplier(judged: dict[str, Any], client: TestClient) -> None:
    results = {k: _result(judged["engine"], v) for k, v in judged["lots"].items()}
    # the engine judged them: only A2 (外径 12.15 > 12.1 and two scratches; 3 pieces, Ac 0) is rejected
    assert results == {"A1": ("judged", "accepted"), "A2": ("judged", "rejected"), "A3": ("judged", "accepted"),
                       "B1": ("judged", "accepted"), "B2": ("judged", "accepted")}, results
    out = _data(client, judged["qe"], "supplier_quality")
    cols = [c["label"]["zh-CN"] for c in out["columns"]]
    assert cols[:4] == ["供应商", "检验批数", "不合格批数", "合格批数"] and "PPM（百万分之不合格）" in cols
    rows = {r["supplier"]: r for r in out["rows"]}
    a, b = rows[BOLT_SUPPLIER], rows[NUT_SUPPLIER]
    assert (a["lots"], a["rejected"], a["accepted"]) == (3, 1, 2)
    assert round(a["acceptance_rate"], 3) == 0.667                        # 2 / 3
    assert Decimal(str(a["received_qty"])) == 2000 and Decimal(str(a["nonconforming_qty"])) == 500
    assert round(a["ppm"]) == 250000                                      # 500 / 2000 × 10⁶
    assert (b["lots"], b["rejected"], b["acceptance_rate"], round(b["ppm"])) == (2, 0, 1, 0)
    assert [r["supplier"] for r in out["rows"]] == [BOLT_SUPPLIER, NUT_SUPPLIER]          # the worst PPM first
    # the open lots (pending, started) are not counted
    assert sum(r["lots"] for r in out["rows"]) == 5


def test_defect_pareto_counts_nonconforming_readings_by_defect_code(judged: dict[str, Any], client: TestClient) -> None:
    out = _data(client, judged["qe"], "defect_pareto")
    got = [(r["defect"], r["defects"], r["critical"], r["major"], r["minor"], round(r["cumulative"], 4)) for r in out["rows"]]
    assert got == [("外观划伤", 2, 0, 0, 2, 0.6667), ("尺寸超差", 1, 0, 1, 0, 1.0)], got
    assert out["rows"][0]["lots"] == 1                                   # both scratches in A2
    # only the IPQC lots: none yet
    assert _data(client, judged["qe"], "defect_pareto", inspection_type="ipqc_first")["rows"] == []


def test_inspection_backlog_lists_the_lots_still_open_by_type_and_day(judged: dict[str, Any], client: TestClient) -> None:
    out = _data(client, judged["qc"], "inspection_backlog")
    assert len(out["rows"]) == 1
    row = out["rows"][0]
    assert (row["inspection_type"], row["lots"], row["inspecting"], Decimal(str(row["qty"]))) == ("iqc", 2, 1, 400)
    today = dt.datetime.now(TZ).date().isoformat()
    assert str(row["raised_on"])[:10] == today


def _order_with_reports(engine: sa.engine.Engine) -> None:
    """An order of 10 valves released; its casting operation reports 8 good, 1 scrap, 1 rework."""
    forms = form_registry()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ctx = Ctx(actor=SYSTEM, now=now, tz=TZ)
    with write_tx(engine) as conn:
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar()
        order = create_records(conn=conn, registry=forms, ctx=ctx, form="production_order", docs=[
            {"code": "MO-FPY", "item": item, "qty": 10, "due_date": (now + dt.timedelta(days=5)).isoformat()}])[0]
        release(conn, forms, ctx, order["id"])
        task = conn.execute(sa.text("SELECT code FROM operation_task WHERE production_order = :o ORDER BY seq"),
                            {"o": order["id"]}).first()[0]
    for event, q in (("start", {}), ("report", {"good_qty": 5, "scrap_qty": 1, "scrap_reason": "R01"}), ("finish", {"good_qty": 3, "rework_qty": 1})):
        with write_tx(engine) as conn:
            report(conn, forms, ctx, {"task": task, "event": event, "reported_at": now.isoformat(), **q})


def test_first_pass_yield_per_operation_from_job_reports(qc: dict[str, Any], client: TestClient) -> None:
    _order_with_reports(qc["engine"])
    out = _data(client, qc["qe"], "first_pass_yield")
    rows = [r for r in out["rows"] if r["made"]]
    assert len(rows) == 1
    r = rows[0]
    assert (r["line"], r["operation"]) == ("铸造工段", "阀体铸造")
    assert [Decimal(str(r[k])) for k in ("good", "scrap", "rework", "made")] == [8, 1, 1, 10]
    assert r["fpy"] == pytest.approx(0.8)                                # 8 / (8 + 1 + 1)
    assert [c["label"]["zh-CN"] for c in out["columns"]][-1] == "一次合格率"


def test_the_quality_board_shows_every_widget_to_a_quality_engineer_and_not_to_an_operator(
        judged: dict[str, Any], client: TestClient) -> None:
    _order_with_reports(judged["engine"])
    out = _ok(client.get("/api/dashboards/quality_board/data", headers=judged["qe"]))
    widgets = {w["id"]: w for w in out["widgets"]}
    assert set(widgets) == {"acceptance", "fpy", "ppm", "pending", "supplier_ppm", "defects", "fpy_by_operation", "backlog", "suppliers"}
    assert not {k: w["error"] for k, w in widgets.items() if w.get("error")}
    assert round(widgets["acceptance"]["value"], 4) == 0.8                # 4 of 5 lots accepted over both suppliers
    assert widgets["fpy"]["value"] == pytest.approx(0.8)
    assert round(widgets["ppm"]["value"]) == 208333                      # 500 / 2400 × 10⁶
    assert widgets["pending"]["value"] == 2
    assert widgets["supplier_ppm"]["option"]["xAxis"]["data"] == [BOLT_SUPPLIER, NUT_SUPPLIER]
    assert widgets["defects"]["option"]["xAxis"]["data"][:2] == ["外观划伤", "尺寸超差"]
    r = client.get("/api/dashboards/quality_board/data", headers=judged["op"])
    assert r.status_code == 403, r.text
    assert r.json()["message"]["zh-CN"]

