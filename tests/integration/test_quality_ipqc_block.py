"""The first-article block (首检合格前停止生产, issue 22) holds on every path that makes pieces, found by the
outside review: an operator reporting rework or scrap beyond the first-article samples, a planner's
correction (更正) moving rework to good, an import of job reports, an administrator's edit of the task's
quantities — all refused in the same words (order, operation, the lot that waits) while the first article
is not accepted; taking pieces back stays allowed; once the inspector accepts it, production goes on. The
dispatch list marks the held task 等待首检 with the lot's number. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash

from tests.integration.test_quality_ipqc import Floor


@pytest.fixture
def held(core_pack, engine, client) -> tuple[Floor, dict[str, Any], dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A plan 首检 of 2 pieces that blocks production on 阀体铸造; op1 has started the casting task and reported
    the 2 first pieces; the first-article lot waits (待检)."""
    floor = Floor(client, engine)
    floor.plan("ipqc_first", "阀体铸造", fixed_sample_size=2, blocks_production=True)
    order = floor.released_order(qty=40)
    casting = order["tasks"][10]
    floor.report(casting, "start")
    floor.report(casting, "report", good_qty=2)
    [first] = floor.lots(casting)
    assert first["status"] == "pending"
    return floor, order, casting, first


def _progress(floor: Floor, order: dict[str, Any]) -> dict[str, Any]:
    return floor.get(f"/api/production/orders/{order['id']}/progress", who="plan1")["tasks"][0]


def _refused(r: Any, order: dict[str, Any], first: dict[str, Any]) -> str:
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert order["code"] in msg and "阀体铸造" in msg and first["code"] in msg and "最多报 2" in msg, msg
    return msg


def test_rework_or_scrap_beyond_the_samples_is_refused_like_good(held) -> None:  # type: ignore[no-untyped-def]
    floor, order, casting, first = held
    r = floor.client.post("/api/production/reports", json={"task": casting["code"], "event": "report", "rework_qty": 30},
                          headers=floor.h("op1"))
    assert "返工 30" in _refused(r, order, first)
    reason = floor.get("/api/records/scrap_reason?limit=1", who="plan1")["items"][0]
    r = floor.client.post("/api/production/reports", json={"task": casting["code"], "event": "report", "scrap_qty": 1,
                                                           "scrap_reason": reason["code"]}, headers=floor.h("op1"))
    _refused(r, order, first)
    task = _progress(floor, order)
    assert (task["good_qty"], task["scrap_qty"]) == (2, 0)


def test_a_correction_moving_pieces_to_good_is_refused_and_taking_back_is_not(held) -> None:  # type: ignore[no-untyped-def]
    floor, order, casting, first = held
    # the reviewer's path: rework of 30 pieces reported before the block counted rework cannot happen any more, so
    # the planner's correction of the first report adds good outright, or moves it from rework to good
    report = floor.get(f"/api/records/job_report?task={casting['id']}&event=report&limit=5", who="plan1")["items"][0]
    for change in ({"good_qty": 30}, {"good_qty": 1, "rework_qty": 0}):
        r = floor.client.post("/api/production/reports", json={"event": "correct", "corrects": report["code"],
                                                               "reason": "漏报", **change}, headers=floor.h("plan1"))
        assert "本次更正合格 +" in _refused(r, order, first)
    assert _progress(floor, order)["good_qty"] == 2
    # taking a piece back, or moving a good one to scrap, is always allowed
    back = floor.client.post("/api/production/reports", json={"event": "correct", "corrects": report["code"],
                                                              "reason": "多报 1 个", "good_qty": -1}, headers=floor.h("plan1"))
    assert back.status_code == 201, back.text
    assert _progress(floor, order)["good_qty"] == 1

    assert floor.judge(first, [50.02, 49.97])["result"] == "accepted"
    fix = floor.client.post("/api/production/reports", json={"event": "correct", "corrects": report["code"],
                                                             "reason": "漏报", "good_qty": 30}, headers=floor.h("plan1"))
    assert fix.status_code == 201, fix.text
    assert _progress(floor, order)["good_qty"] == 31


def test_an_import_or_an_administrators_edit_is_held_too(held) -> None:  # type: ignore[no-untyped-def]
    floor, order, casting, first = held
    # a job report posted straight to the records API (as an import does, row by row through the record service)
    r = floor.client.post("/api/records/job_report", json={"task": casting["id"], "event": "report", "rework_qty": 5},
                          headers=floor.h("plan1"))
    _refused(r, order, first)
    # the task's quantities are read-only for the planner; the administrator's edit is held like a report
    task = floor.get(f"/api/records/operation_task/{casting['id']}", who="admin")
    r = floor.client.patch(f"/api/records/operation_task/{casting['id']}",
                           json={"row_version": task["row_version"], "good_qty": 32}, headers=floor.h("admin"))
    assert "本次修改合格 +30" in _refused(r, order, first)
    assert _progress(floor, order)["good_qty"] == 2


def test_the_dispatch_list_says_waiting_for_the_first_article(held) -> None:  # type: ignore[no-untyped-def]
    floor, order, casting, first = held
    rows = {t["code"]: t for t in floor.get("/api/production/dispatch", who="qc1")["tasks"]}
    assert rows[casting["code"]]["waiting_first_article"] is True
    assert rows[casting["code"]]["first_article_lot"] == first["code"]
    assert rows[order["tasks"][20]["code"]]["waiting_first_article"] is False
    rows = {t["code"]: t for t in floor.get("/api/production/dispatch", who="op1")["tasks"]}
    assert rows[casting["code"]]["waiting_first_article"] is True
    # the operator reads in-process lots (his role's scope): he sees the first article's number to ask for it
    assert rows[casting["code"]]["first_article_lot"] == first["code"]
    # a role without the inspection lots (工艺工程师) sees that the task waits, not the lot's number
    with write_tx(floor.engine) as conn:
        auth.create_user(conn, username="eng1", password_hash=fixture_hash("eng1-pass-1"), roles=["engineer"])
    r = floor.client.get("/api/production/dispatch", headers=floor.h("eng1"))
    if r.status_code == 200:
        rows = {t["code"]: t for t in r.json()["tasks"]}
        assert rows[casting["code"]]["waiting_first_article"] is True and rows[casting["code"]]["first_article_lot"] is None
    else:
        assert r.status_code == 403 and first["code"] not in r.text
    assert floor.client.get(f"/api/records/inspection_lot/{first['id']}", headers=floor.h("eng1")).status_code in (403, 404)
    floor.judge(first, [50.0, 50.01])
    rows = {t["code"]: t for t in floor.get("/api/production/dispatch", who="op1")["tasks"]}
    assert rows[casting["code"]]["waiting_first_article"] is False
