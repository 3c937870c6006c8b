"""The NCR and CAPA screens' API (issue 22 items 3–4), SQLite and PostgreSQL:

- ``GET /api/quality/ncrs``: a rejected incoming lot's NCR in the work list (source 来料检验, age, who acts
  next: the inspector to submit, then the quality manager to approve, then execute); filters by status,
  source and supplier refused in words when unknown;
- ``GET /api/quality/ncrs/{id}``: after execution each disposition line's documents as links (调拨单 TR-…,
  退供应商出库单 RTV-…) — a supervisor, who reads NCRs but not supplier returns, sees the transfer but
  neither the link nor the number of the return; someone without NCR rights gets 403;
- a CAPA opened from the NCR (the record API, one call) shows on the NCR; its 8D steps say who filled them
  and when; three days past its due date it is 逾期 3 天.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.test_quality_ncr import SUPPLIER, Quality


class Screens(Quality):
    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine)
        with write_tx(engine) as conn:
            auth.create_user(conn, username="sup1", password_hash=fixture_hash("sup1-pass-1"), roles=["supervisor"])

    def user_id(self, name: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT id FROM mom_user WHERE username = :u"), {"u": name}).scalar_one())


@pytest.fixture
def sc(core_pack, client, engine) -> Screens:  # type: ignore[no-untyped-def]
    return Screens(client, engine)


def _row(sc: Screens, code: str, who: str = "qc1", **q: Any) -> dict[str, Any]:
    items = sc.get("/api/quality/ncrs?" + "&".join(f"{k}={v}" for k, v in q.items()), who=who)["items"]
    found = [r for r in items if r["code"] == code]
    assert len(found) == 1, items
    return found[0]


def test_the_work_list_says_where_an_ncr_came_from_and_who_acts_next(sc: Screens) -> None:
    ncr = sc.iqc_rejected(100)["ncr"]
    row = _row(sc, ncr["code"])
    assert row["source"] == "iqc" and row["source_label"]["zh-CN"] == "来料检验"
    assert row["supplier"] == SUPPLIER and float(row["qty"]) == 100 and row["unit"] == "件" and row["age_days"] == 0
    assert row["status_label"]["zh-CN"] == "待处置" and "阀盖" in row["item"]
    assert "提交审批" in row["next"]["zh-CN"]
    assert _row(sc, ncr["code"], source="iqc", supplier="精密铸造")["code"] == ncr["code"]
    assert not [r for r in sc.get("/api/quality/ncrs?source=ipqc", who="qc1")["items"] if r["code"] == ncr["code"]]
    assert not [r for r in sc.get("/api/quality/ncrs?source=manual", who="qc1")["items"] if r["code"] == ncr["code"]]
    lines = [{"disposition": "scrap", "qty": 20}, {"disposition": "return_to_supplier", "qty": 10}, {"disposition": "use_as_is", "qty": 70}]
    assert sc.patch("nonconformance", ncr["id"], {"dispositions": lines}, who="qc1").status_code == 200
    sc.post("/api/workflows/nonconformance_review/start", {"record_id": ncr["id"]}, who="qc1")
    row = _row(sc, ncr["code"], who="qcm")
    assert row["next"]["zh-CN"].startswith("待 ") and "批准处置" in row["next"]["zh-CN"] and row["mine"] is True
    detail = sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qcm")
    assert detail["review"]["status"] == "running" and detail["may"]["approve_task"]
    assert sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qc1")["may"]["approve_task"] is None
    r = sc.client.get("/api/quality/ncrs?status=finished", headers=sc.h("qc1"))
    assert r.status_code == 422 and "状态" in r.text and "finished" in r.text
    r = sc.client.get("/api/quality/ncrs?source=xyz", headers=sc.h("qc1"))
    assert r.status_code == 422 and "来源" in r.text


def test_posted_documents_are_links_only_for_who_may_read_them(sc: Screens) -> None:
    ncr = sc.iqc_rejected(100)["ncr"]
    lines = [{"disposition": "scrap", "qty": 20}, {"disposition": "return_to_supplier", "qty": 10}, {"disposition": "use_as_is", "qty": 70}]
    assert sc.patch("nonconformance", ncr["id"], {"dispositions": lines}, who="qc1").status_code == 200
    sc.approve(ncr["id"])
    sc.execute(ncr["id"])
    mgr = sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qcm")
    assert mgr["status"] == "dispositioned" and "关闭" in mgr["next"]["zh-CN"]
    scrap, back, use = mgr["dispositions"]
    assert scrap["label"]["zh-CN"] == "报废" and scrap["documents"][0]["form"] == "stock_transfer"
    assert scrap["documents"][0]["code"].startswith("TR-") and scrap["documents"][0]["link"] == f"/f/stock_transfer/{scrap['documents'][0]['id']}"
    assert back["documents"][0]["form"] == "supplier_return" and back["documents"][0]["code"].startswith("RTV-")
    assert back["documents"][0]["status"] == "posted"
    assert use["posted"].startswith("批次") and "放行" in use["posted"]
    # the supervisor reads NCRs and transfers, but not supplier returns: no link and no number
    sup = sc.get(f"/api/quality/ncrs/{ncr['id']}", who="sup1")
    assert sup["dispositions"][0]["documents"][0]["code"] == scrap["documents"][0]["code"]
    assert sup["dispositions"][1]["documents"] == []
    assert back["documents"][0]["code"] not in sup["dispositions"][1]["posted"] and "无权查看" in sup["dispositions"][1]["posted"]
    # a user without NCR rights: refused in words
    r = sc.client.get(f"/api/quality/ncrs/{ncr['id']}", headers=sc.h("guest"))
    assert r.status_code == 403 and "不合格品处理单" in r.json()["message"]["zh-CN"]
    assert sc.client.get("/api/quality/ncrs", headers=sc.h("guest")).status_code == 403


def test_a_capa_from_the_ncr_with_its_8d_steps_and_overdue_days(sc: Screens) -> None:
    ncr = sc.iqc_rejected(100)["ncr"]
    assert sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qe1")["may"]["open_capa"] is True
    assert sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qc1")["may"]["open_capa"] is False   # inspectors read CAPAs only
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    capa = sc.post("/api/records/capa", {"title": f"{ncr['code']} 外径超差", "nonconformance": ncr["id"],
                                         "owner": sc.user_id("qe1"), "due_date": due}, who="qe1")
    shown = sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qe1")
    assert shown["capa"]["code"] == capa["code"] and shown["capa"]["link"] == f"/capa/{capa['id']}" and shown["may"]["open_capa"] is False
    sc.post(f"/api/records/capa/{capa['id']}/transitions/start", {}, who="qe1")
    r = sc.patch("capa", capa["id"], {"d1_team": "小赵、老陈、供应商质量", "d2_problem": "外径 50.3，超上限 50.1"}, who="qe1")
    assert r.status_code == 200, r.text
    one = sc.get(f"/api/quality/capas/{capa['id']}", who="qcm")
    d1, d2, d3 = one["steps"][:3]
    assert (d1["tag"], d1["done"], d1["by"]) == ("D1", True, "qe1") and d1["at"]
    assert d2["done"] and not d3["done"] and d3["by"] is None and one["current_step"] == "D3"
    assert one["ncr"]["code"] == ncr["code"] and one["overdue_days"] == 0 and one["effectiveness"]["state"] == "pending"
    today = dt.date.fromisoformat(sc.get("/api/quality/capas", who="qcm")["today"])     # the plant's day
    with write_tx(sc.engine) as conn:      # thirteen days on: three days past the due date
        conn.execute(sa.text("UPDATE capa SET due_date = :d WHERE id = :i"), {"d": today - dt.timedelta(days=3), "i": capa["id"]})
    row = [c for c in sc.get("/api/quality/capas", who="qcm")["items"] if c["id"] == capa["id"]][0]
    assert row["overdue_days"] == 3 and row["steps_done"] == 2 and row["status_label"]["zh-CN"] == "进行中"
    assert [c["id"] for c in sc.get("/api/quality/capas?overdue=true", who="qcm")["items"]] == [capa["id"]]
    assert sc.client.get("/api/quality/capas", headers=sc.h("guest")).json()["items"] == []   # owners' own rows only


def test_an_ncr_shows_its_capa_number_only_to_who_may_read_capas(sc: Screens) -> None:
    """Review of issue 22: the NCR's CAPA number (a copy on the NCR) followed the NCR's read right, not the CAPA's.
    A storekeeper reads and executes NCRs but no CAPA: the number is in neither the record, its audit trail,
    the work list nor the NCR screen (which says a CAPA is open); the inspector, who reads CAPAs, sees it."""
    ncr = sc.iqc_rejected(100)["ncr"]
    capa = sc.post("/api/records/capa", {"title": f"{ncr['code']} 外径超差", "nonconformance": ncr["id"],
                                         "owner": sc.user_id("qe1"), "due_date": "2030-12-01"}, who="qe1")
    assert sc.get(f"/api/records/nonconformance/{ncr['id']}", who="qc1")["capa"] == capa["code"]
    for path in (f"/api/records/nonconformance/{ncr['id']}", f"/api/records/nonconformance/{ncr['id']}/audit",
                 f"/api/records/nonconformance?limit=200", f"/api/quality/ncrs/{ncr['id']}", "/api/quality/ncrs?limit=200"):
        r = sc.client.get(path, headers=sc.h("store1"))
        assert r.status_code == 200 and capa["code"] not in r.text, (path, r.text[:300])
    shown = sc.get(f"/api/quality/ncrs/{ncr['id']}", who="store1")
    assert shown["capa"] is None and shown["capa_code"] is None and shown["capa_hidden"] is True
    assert shown["may"]["open_capa"] is False
    assert _row(sc, ncr["code"], who="qc1")["capa"] == capa["code"]
    assert sc.get(f"/api/quality/ncrs/{ncr['id']}", who="qc1")["capa_code"] == capa["code"]
