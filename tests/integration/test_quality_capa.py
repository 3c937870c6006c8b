"""CAPA / 8D (issue 22, 纠正预防措施): opened by a quality engineer from an NCR (the NCR shows its number),
sent to verification only with its root cause (D4) and corrective action (D5) written, closed by the
quality manager only when the effectiveness check says 有效 (an ineffective one goes back to work), not
edited once closed; CAPAs past their due date are listed by the report 逾期的纠正预防措施. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.test_quality_ncr import Quality


@pytest.fixture
def qa(core_pack, client, engine) -> Quality:  # type: ignore[no-untyped-def]
    return Quality(client, engine)


def _capa(qa: Quality, ncr_id: int | None, due: dt.date, title: str = "阀体砂眼 8D") -> dict[str, Any]:
    """A CAPA due on ``due``; a date already past is one the CAPA was opened with earlier (days have gone by:
    a new CAPA due in the past is refused)."""
    owner = qa.get("/api/auth/me", who="qe1")["id"]
    opened_due = max(due, dt.date.today())
    body = {"title": title, "owner": owner, "due_date": opened_due.isoformat(), "nonconformance": ncr_id,
            "d1_team": "质量工程师小赵、铸造车间主任、供应商质量代表", "d2_problem": "HT250 阀体毛坯来料砂眼，100 件中 30 件超标"}
    made = qa.post("/api/records/capa", body, who="qe1")
    if due < opened_due:
        with write_tx(qa.engine) as conn:
            conn.execute(sa.text("UPDATE capa SET due_date = :d WHERE id = :i"), {"d": due, "i": made["id"]})
        made["due_date"] = due.isoformat()
    return made


def _move(qa: Quality, capa_id: int, key: str, who: str = "qe1", status: int | tuple[int, ...] = 200, **values: Any) -> Any:
    r = qa.client.post(f"/api/records/capa/{capa_id}/transitions/{key}", json=values, headers=qa.h(who))
    want = status if isinstance(status, tuple) else (status,)
    assert r.status_code in want, r.text
    return r.json()


def test_a_capa_is_closed_only_when_its_effectiveness_check_says_effective(qa: Quality) -> None:
    lot = qa.rejected_lot(100)["lot"]
    ncr = qa.ncr(lot)
    capa = _capa(qa, ncr["id"], dt.date.today() + dt.timedelta(days=30))
    assert capa["status"] == "open" and capa["code"].startswith("CAPA-")
    assert qa.get(f"/api/records/nonconformance/{ncr['id']}")["capa"] == capa["code"]     # the NCR names its CAPA

    _move(qa, capa["id"], "start")
    refused = _move(qa, capa["id"], "verify", status=422)
    assert "「D4 根本原因」" in refused["message"]["zh-CN"] and "「D5 永久纠正措施」" in refused["message"]["zh-CN"]
    r = qa.patch("capa", capa["id"], {"d4_root_cause": "型砂透气性不足，浇注温度偏低", "d5_corrective_action": "调整型砂配比，浇注温度 ≥ 1380 ℃"},
                 who="qe1")
    assert r.status_code == 200, r.text
    _move(qa, capa["id"], "verify")

    r = qa.patch("capa", capa["id"], {"effectiveness": "not_effective", "effectiveness_check_date": dt.date.today().isoformat()},
                 who="qcm")
    assert r.status_code == 200, r.text
    refused = _move(qa, capa["id"], "close", who="qcm", status=409)
    assert "「无效」" in refused["message"]["zh-CN"] and "退回整改" in refused["message"]["zh-CN"]
    _move(qa, capa["id"], "close", who="qe1", status=403)                  # the manager closes, not the engineer
    _move(qa, capa["id"], "reopen")
    assert qa.get(f"/api/records/capa/{capa['id']}")["status"] == "in_progress"
    _move(qa, capa["id"], "verify")
    r = qa.patch("capa", capa["id"], {"effectiveness": "effective", "d8_closure": "连续 5 批来料无砂眼"}, who="qcm")
    assert r.status_code == 200, r.text
    closed = _move(qa, capa["id"], "close", who="qcm")
    assert closed["status"] == "closed" and closed["closed_at"]

    r = qa.patch("capa", capa["id"], {"d8_closure": "改写"}, who="qcm")
    assert r.status_code == 409 and "已关闭" in r.json()["message"]["zh-CN"]
    assert qa.client.delete(f"/api/records/capa/{capa['id']}", headers=qa.h("qcm")).status_code == 409


def test_closing_needs_the_check_date_and_an_inspector_opens_no_capa(qa: Quality) -> None:
    capa = _capa(qa, None, dt.date.today() + dt.timedelta(days=10))
    _move(qa, capa["id"], "start")
    qa.patch("capa", capa["id"], {"d4_root_cause": "夹具磨损", "d5_corrective_action": "更换夹具，点检表加一项"}, who="qe1")
    _move(qa, capa["id"], "verify")
    qa.patch("capa", capa["id"], {"effectiveness": "effective"}, who="qcm")
    refused = _move(qa, capa["id"], "close", who="qcm", status=409)
    assert "效果确认日期" in refused["message"]["zh-CN"]
    assert [p["path"] for p in refused["problems"]] == ["/effectiveness_check_date"]
    r = qa.client.post("/api/records/capa", json={"title": "x", "owner": 1, "due_date": "2030-01-01"}, headers=qa.h("qc1"))
    assert r.status_code == 403


def test_overdue_capas_are_listed_oldest_due_first(qa: Quality) -> None:
    today = dt.date.today()
    late = _capa(qa, None, today - dt.timedelta(days=3), "密封面渗漏 8D")
    later = _capa(qa, None, today - dt.timedelta(days=10), "耐压击穿 8D")
    _capa(qa, None, today + dt.timedelta(days=5), "尺寸超差 8D")                 # not due yet
    done = _capa(qa, None, today - dt.timedelta(days=20), "外观划伤 8D")
    _move(qa, done["id"], "start")
    qa.patch("capa", done["id"], {"d4_root_cause": "包装无隔层", "d5_corrective_action": "加隔层"}, who="qe1")
    _move(qa, done["id"], "verify")
    qa.patch("capa", done["id"], {"effectiveness": "effective", "effectiveness_check_date": today.isoformat()}, who="qcm")
    _move(qa, done["id"], "close", who="qcm")
    rows = qa.get("/api/reports/capa_overdue/data", who="qcm")["rows"]
    assert [r["code"] for r in rows] == [later["code"], late["code"]]
    r = qa.client.get("/api/reports/capa_overdue/data", headers=qa.h("qc1"))
    assert r.status_code == 403


def test_the_owner_writes_the_8d_but_not_the_effectiveness_nor_the_due_date(qa: Quality) -> None:
    with write_tx(qa.engine) as conn:
        auth.create_user(conn, username="sup1", password_hash=fixture_hash("sup1-pass-1"), roles=["supervisor"])
        auth.create_user(conn, username="op9", password_hash=fixture_hash("op9-pass-1"), roles=["operator"])
    owner = qa.get("/api/auth/me", who="sup1")["id"]
    capa = qa.post("/api/records/capa", {"title": "铸造车间砂眼 8D", "owner": owner, "due_date": "2030-06-30"}, who="qe1")
    r = qa.patch("capa", capa["id"], {"d3_containment": "在库 300 件全检，隔离可疑批次"}, who="sup1")
    assert r.status_code == 200, r.text
    for field, value in (("effectiveness", "effective"), ("due_date", "2031-01-01")):
        r = qa.patch("capa", capa["id"], {field: value}, who="sup1")
        assert r.status_code in (403, 422), r.text
    assert qa.client.get(f"/api/records/capa/{capa['id']}", headers=qa.h("op9")).status_code in (403, 404)
