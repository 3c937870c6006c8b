"""Two people judge at the same moment (issue 22 leftovers), SQLite and PostgreSQL, with two connections in two
threads: the first judge holds its transaction open while the second arrives.

- the same lot: the second gets a clear 409 in Chinese saying the lot was just judged (not a 500, not the
  database's unique-index error), and nothing of it is written — one judgement, one switching state row;
- two lots of the same item and supplier judged for the first time at once (both create the item × supplier
  switching state): both judgements stand and the state counts both lots — the second, refused by the
  unique index, moves the state the first just wrote.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.records import service as S
from mom.engines.records.context import Ctx, actor_by_username
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.integration.test_quality_iqc import Iqc


@pytest.fixture
def iqc(plant, client, engine) -> Iqc:  # type: ignore[no-untyped-def]
    return Iqc(client, engine)


def _opened(iqc: Iqc, qty: int = 2000) -> dict[str, Any]:
    lot = iqc.inspection_of(iqc.receive_from(qty)["id"])
    iqc.post(f"/api/records/inspection_lot/{lot['id']}/transitions/start", {}, who="qc1")
    return iqc.get(f"/api/records/inspection_lot/{lot['id']}")


def _rows(lot: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"sample_no": s, "char_seq": 1, "value": "50.02"} for s in range(1, lot["sample_size"] + 1)]


def _hold_judged(iqc: Iqc, lot: dict[str, Any], judged: threading.Event, release: threading.Event,
                 errors: list[BaseException]) -> None:
    """The first inspector's judge, through the record service in its own transaction, kept open until ``release``."""
    try:
        with write_tx(iqc.engine) as conn:
            ctx = Ctx(actor=actor_by_username(conn, "qc1"), now=dt.datetime.now(dt.timezone.utc))   # type: ignore[arg-type]
            S.update_record(conn=conn, registry=form_registry(), ctx=ctx, form="inspection_lot", record_id=lot["id"],
                            patch={"results": _rows(lot)}, transition="judge")
            judged.set()
            release.wait(30)
    except BaseException as exc:   # noqa: BLE001 — reported by the test
        errors.append(exc)
        judged.set()


def _states(iqc: Iqc) -> list[Any]:
    with read_tx(iqc.engine) as conn:
        return conn.execute(sa.text("SELECT defect_class, state FROM quality_state WHERE deleted_at IS NULL")).all()


def test_the_second_judge_of_the_same_lot_gets_a_409_in_chinese(iqc: Iqc) -> None:
    iqc.plan()
    lot = _opened(iqc)
    judged, release, errors = threading.Event(), threading.Event(), []
    first = threading.Thread(target=_hold_judged, args=(iqc, lot, judged, release, errors))
    first.start()
    assert judged.wait(60) and not errors, errors
    answer: dict[str, Any] = {}

    def second() -> None:
        answer["r"] = iqc.client.post(f"/api/records/inspection_lot/{lot['id']}/transitions/judge",
                                      json={"results": _rows(lot)}, headers=iqc.h("qcm"))
    other = threading.Thread(target=second)
    other.start()
    other.join(0.5)                 # the second is waiting on the first's transaction
    release.set()
    first.join(60)
    other.join(60)
    r = answer["r"]
    assert r.status_code == 409, r.text[:500]
    body = r.json()
    assert body["code"] == "conflict"
    msg = body["message"]["zh-CN"]
    assert lot["code"] in msg and "判定为「合格」" in msg and "不能再「判定」" in msg and "质检员小王" in msg, msg
    assert "unique" not in r.text.lower() and "integrity" not in r.text.lower()
    got = iqc.get(f"/api/records/inspection_lot/{lot['id']}")
    assert got["status"] == "judged" and got["result"] == "accepted" and got["inspected_by"] == iqc.get("/api/auth/me", who="qc1")["id"]
    assert len(_states(iqc)) == 1
    # the inspection entry API answers the same way
    r = iqc.client.post(f"/api/quality/inspections/{lot['id']}/judge", json={}, headers=iqc.h("qcm"))
    assert r.status_code == 409 and "已判定" in r.json()["message"]["zh-CN"], r.text[:500]


def test_two_first_judges_of_one_item_and_supplier_both_stand(iqc: Iqc) -> None:
    iqc.plan()
    a, b = _opened(iqc), _opened(iqc)
    assert _states(iqc) == []
    judged, release, errors = threading.Event(), threading.Event(), []
    first = threading.Thread(target=_hold_judged, args=(iqc, a, judged, release, errors))
    first.start()
    assert judged.wait(60) and not errors, errors
    answer: dict[str, Any] = {}

    def second() -> None:
        answer["r"] = iqc.client.post(f"/api/records/inspection_lot/{b['id']}/transitions/judge",
                                      json={"results": _rows(b)}, headers=iqc.h("qcm"))
    other = threading.Thread(target=second)
    other.start()
    other.join(0.5)
    release.set()
    first.join(60)
    other.join(60)
    assert answer["r"].status_code == 200, answer["r"].text[:500]
    assert [iqc.get(f"/api/records/inspection_lot/{x['id']}")["result"] for x in (a, b)] == ["accepted", "accepted"]
    states = _states(iqc)
    assert len(states) == 1, states
    assert json.loads(states[0][1])["recent"] == [True, True]          # both lots counted, in one row
