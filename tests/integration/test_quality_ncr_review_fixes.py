"""The outside review's findings on NCRs, lots and CAPAs (issue 22), as the people meet them:
a storekeeper executes an approved disposition and edits nothing else; a finished NCR is not submitted
for approval again and a state refusal speaks in states' labels; a lot rejected by IQC that also raises an
SPC alarm has one NCR; an NCR opened on a lot knows where its stock lies and approval without a location
for a scrap is refused naming the field; a reversed receipt cancels its open NCR; a lot is not released by
hand while inspected; a CAPA due in the past is refused. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.test_quality_ncr import SUPPLIER, Quality
from tests.integration.test_quality_spc_feed import RINGS, Lab


@pytest.fixture
def qa(core_pack, client, engine) -> Quality:  # type: ignore[no-untyped-def]
    return Quality(client, engine)


@pytest.fixture
def lab(core_pack, client) -> Lab:  # type: ignore[no-untyped-def]
    return Lab(client, core_pack)


def _scrap_all(qa: Quality, ncr: dict[str, Any]) -> None:
    r = qa.patch("nonconformance", ncr["id"], {"dispositions": [{"disposition": "scrap", "qty": float(ncr["qty"])}]}, who="qc1")
    assert r.status_code == 200, r.text


def test_a_storekeeper_executes_the_approved_disposition_and_edits_nothing_else(qa: Quality) -> None:
    ncr = qa.iqc_rejected(100)["ncr"]
    _scrap_all(qa, ncr)
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("store1"))
    assert r.status_code in (403, 409), r.text                        # not approved yet
    qa.approve(ncr["id"])
    r = qa.patch("nonconformance", ncr["id"], {"description": "仓管员改的"}, who="store1")
    assert r.status_code == 403 and "执行处置" in r.json()["message"]["zh-CN"]
    done = qa.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", {}, who="store1")
    assert done["status"] == "dispositioned" and done["dispositions"][0]["posted_document"].startswith("TR-")


def test_a_finished_ncr_is_not_submitted_again_and_refusals_name_states(qa: Quality) -> None:
    ncr = qa.iqc_rejected(100)["ncr"]
    _scrap_all(qa, ncr)
    qa.approve(ncr["id"])
    qa.execute(ncr["id"])
    r = qa.client.post("/api/workflows/nonconformance_review/start", json={"record_id": ncr["id"]}, headers=qa.h("qc1"))
    assert r.status_code == 409, r.text
    assert "已处置" in r.json()["message"]["zh-CN"] and "dispositioned" not in r.json()["message"]["zh-CN"]
    assert not [t for t in qa.get("/api/tasks?box=todo", who="qcm")["items"]
                if (t.get("record_id") or (t.get("instance") or {}).get("record_id")) == ncr["id"]]
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/cancel", json={}, headers=qa.h("qcm"))
    assert r.status_code == 409, r.text
    msg = r.json()["message"]
    assert "「已处置」" in msg["zh-CN"] and "「已取消」" in msg["zh-CN"] and "「关闭」" in msg["zh-CN"]
    assert "dispositioned" not in msg["zh-CN"] and "Close" in msg["en"]


def test_an_ncr_on_a_lot_knows_its_location_and_approval_without_one_is_refused(qa: Quality) -> None:
    out = qa.receive("RM-HT250", 300, loc="A02", heat_number="H26-1202")
    lot = out["moves"][0]["lot"]
    qa.doc("stock_transfer", [{"item": qa.items["RM-HT250"], "qty": 100, "from_location": qa.loc["A02"],
                               "to_location": qa.loc["A01"], "lot": lot}])
    made = qa.post("/api/records/nonconformance", {"title": "砂眼", "item": qa.items["RM-HT250"], "lot": lot, "qty": 50},
                   who="qc1")
    assert made["location"] == qa.loc["A02"]                          # where most of the lot lies (200 of 300)
    bare = qa.post("/api/records/nonconformance", {"title": "无批次", "item": qa.items["RM-HT250"], "qty": 5}, who="qc1")
    assert bare["location"] is None
    _scrap_all(qa, bare)
    qa.post("/api/workflows/nonconformance_review/start", {"record_id": bare["id"]}, who="qc1")
    task = [t for t in qa.get("/api/tasks?box=todo", who="qcm")["items"]
            if (t.get("record_id") or (t.get("instance") or {}).get("record_id")) == bare["id"]][0]
    r = qa.client.post(f"/api/tasks/{task['id']}/approve", json={"comment": "同意"}, headers=qa.h("qcm"))
    assert r.status_code == 422, r.text
    assert "所在库位" in r.json()["message"]["zh-CN"]
    assert qa.get(f"/api/records/nonconformance/{bare['id']}")["status"] == "open"


def test_a_lot_rejected_and_alarmed_has_one_ncr(lab: Lab) -> None:
    plan = lab.plan(ncr=True)
    for g in RINGS:
        lab.inspect(plan, g)
    judged = lab.inspect(plan, [74.060, 74.065, 74.058, 74.070, 74.062])   # over the 74.05 limit and the chart's UCL
    assert judged["result"] == "rejected"
    ncrs = lab.get(f"/api/records/nonconformance?inspection_lot={judged['id']}", who="qe1")["items"]
    alarms = lab.chart(plan)["alarms"]
    assert len(ncrs) == 1 and [a["ncr"] for a in alarms] == [ncrs[0]["id"]]


def test_a_reversed_receipt_cancels_its_open_ncr(qa: Quality) -> None:
    got = qa.iqc_rejected(100)
    ncr = got["ncr"]
    receipt = qa.get(f"/api/records/nonconformance/{ncr['id']}")
    il = qa.get(f"/api/records/inspection_lot/{receipt['inspection_lot']}")
    qa.post(f"/api/inventory/documents/stock_receipt/{il['stock_receipt']}/reverse", {}, who="store1")
    after = qa.get(f"/api/records/nonconformance/{ncr['id']}")
    assert after["status"] == "cancelled" and "已冲销" in after["description"]


def test_an_approved_ncr_holds_the_reversal_of_its_receipt(qa: Quality) -> None:
    ncr = qa.iqc_rejected(100)["ncr"]
    _scrap_all(qa, ncr)
    qa.approve(ncr["id"])
    il = qa.get(f"/api/records/inspection_lot/{ncr['inspection_lot']}")
    r = qa.client.post(f"/api/inventory/documents/stock_receipt/{il['stock_receipt']}/reverse", json={}, headers=qa.h("store1"))
    assert r.status_code == 409 and ncr["code"] in r.json()["message"]["zh-CN"]


def test_a_lot_under_inspection_is_not_released_by_hand(qa: Quality) -> None:
    qa.post("/api/records/inspection_plan", {
        "name": "阀盖来料检验", "inspection_type": "iqc", "item": qa.items["SF-C50"], "aql_major": "1.0",
        "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major",
                             "nominal": "50", "lsl": "49.9", "usl": "50.1", "unit": "mm"}]}, who="qe1")
    receipt = qa.doc("stock_receipt", [{"item": qa.items["SF-C50"], "qty": 500, "to_location": qa.loc["A01"]}], supplier=SUPPLIER)
    lot = receipt["moves"][0]["lot"]
    il = qa.find("inspection_lot", stock_receipt=receipt["id"])[0]
    assert qa.lot(lot)["status"] == "quarantine"
    r = qa.patch("lot", lot, {"status": "released"})                  # even the administrator
    assert r.status_code == 409 and il["code"] in r.json()["message"]["zh-CN"]
    assert qa.lot(lot)["status"] == "quarantine"


def test_a_capa_due_in_the_past_is_refused_naming_the_field(qa: Quality) -> None:
    owner = qa.get("/api/auth/me", who="qe1")["id"]
    body = {"title": "阀体砂眼 8D", "owner": owner, "due_date": (dt.date.today() - dt.timedelta(days=2)).isoformat()}
    r = qa.client.post("/api/records/capa", json=body, headers=qa.h("qe1"))
    assert r.status_code == 422 and "要求完成日期" in r.json()["message"]["zh-CN"]
    made = qa.post("/api/records/capa", {**body, "due_date": (dt.date.today() + dt.timedelta(days=14)).isoformat()}, who="qe1")
    assert made["status"] == "open"
