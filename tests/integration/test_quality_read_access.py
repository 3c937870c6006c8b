"""Who reads inspection lots and the SPC characteristics (issue 22 leftovers, quality 1.1.0), SQLite and PostgreSQL.

Least privilege (docs/quality.md 读权限): the quality roles, the storekeeper, the planner and the workshop
supervisor read every inspection lot (a lot is 待检 before it is issued or shipped); the operator reads the
in-process ones (首检 / 巡检 / 末检) only; anybody else — here ``guest`` without a role and ``eng1``
(工艺工程师, who reads the plans but not the lots) — gets 403 and sees no lot number nor count in lists, exports, the inspection API, the SPC API,
reports, the quality dashboard or notifications."""
from __future__ import annotations

from typing import Any

import pytest

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.test_quality_iqc import ITEM, Iqc


class Access(Iqc):
    def __init__(self, client: Any, engine: Any) -> None:
        super().__init__(client, engine)
        with write_tx(engine) as conn:
            for name, roles in (("eng1", ["engineer"]), ("sup1", ["supervisor"])):
                auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)

    def status(self, path: str, who: str) -> tuple[int, str]:
        r = self.client.get(path, headers=self.h(who))
        return r.status_code, r.text


@pytest.fixture
def acc(plant, client, engine) -> Access:  # type: ignore[no-untyped-def]
    a = Access(client, engine)
    a.plan(characteristics=[{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": "50",
                             "lsl": "49.9", "usl": "50.1", "unit": "mm", "spc": True}])
    a.iqc_lot = a.inspection_of(a.receive_from(200)["id"])
    first = a.post("/api/records/inspection_plan", {
        "name": "阀盖首检", "inspection_type": "ipqc_first", "item": a.items[ITEM], "fixed_sample_size": 2, "aql_critical": None,
        "aql_minor": None, "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major",
                                                "lsl": "49.9", "usl": "50.1", "spc": True}]}, who="qe1")
    a.first_plan = first
    a.first_lot = a.post("/api/records/inspection_lot", {"plan": first["id"], "lot_qty": 10}, who="qc1")
    return a


OUTSIDERS = ("guest", "eng1")


def test_outsiders_get_403_and_no_numbers_anywhere(acc: Access) -> None:
    lot = acc.iqc_lot
    paths = ["/api/records/inspection_lot", f"/api/records/inspection_lot/{lot['id']}", "/api/records/inspection_lot/export",
             "/api/records/inspection_plan", "/api/quality/inspections", f"/api/quality/inspections/{lot['id']}",
             "/api/quality/spc/characteristics", f"/api/quality/spc/chart?plan={acc.first_plan['id']}&char_seq=1",
             "/api/reports/inspection_backlog/data", "/api/reports/supplier_quality/data", "/api/reports/inspection_readings/data",
             "/api/dashboards/quality_board/data"]
    for who in OUTSIDERS:
        for path in paths:
            if who == "eng1" and path == "/api/records/inspection_plan":
                continue                      # the process engineer reads the plans (specifications), not the lots
            code, text = acc.status(path, who)
            assert code in (403, 404), (who, path, code, text[:300])
            assert lot["code"] not in text and acc.first_lot["code"] not in text, (who, path)
        told = acc.get("/api/notifications?limit=50", who=who)["items"]
        assert not [n for n in told if lot["code"] in n["title"] + n["body"] or n["kind"] in ("inspection_lot", "spc_alarm")]
        assert "quality_board" not in str(acc.get("/api/dashboards", who=who))
    # the message is in words, not a key
    r = acc.client.get("/api/records/inspection_lot", headers=acc.h("guest"))
    assert r.status_code == 403 and "检验单" in r.json()["message"]["zh-CN"], r.text[:300]


def test_storekeeper_planner_and_supervisor_see_a_lot_is_waiting(acc: Access) -> None:
    for who in ("store1", "plan1", "sup1", "qc1", "qe1"):
        codes = {x["code"]: x["status"] for x in acc.get("/api/records/inspection_lot?limit=100", who=who)["items"]}
        assert codes.get(acc.iqc_lot["code"]) == "pending", who
    for who in ("store1", "plan1"):
        rows = acc.get("/api/reports/inspection_backlog/data", who=who)["rows"]
        assert sum(r["lots"] for r in rows) == 2, rows
    code, _ = acc.status("/api/records/inspection_lot/export", "store1")
    assert code == 403                        # reading is not exporting
    code, _ = acc.status("/api/records/inspection_lot/export", "qe1")
    assert code == 200


def test_the_operator_reads_in_process_lots_only(acc: Access) -> None:
    items = acc.get("/api/records/inspection_lot?limit=100", who="op1")["items"]
    assert [x["code"] for x in items] == [acc.first_lot["code"]]
    assert acc.status(f"/api/records/inspection_lot/{acc.iqc_lot['id']}", "op1")[0] in (403, 404)
    assert acc.status(f"/api/records/inspection_lot/{acc.first_lot['id']}", "op1")[0] == 200
    plans = acc.get("/api/records/inspection_plan?limit=100", who="op1")["items"]
    assert "阀盖首检" in [p["name"] for p in plans] and {p["inspection_type"] for p in plans} <= {"ipqc_first", "ipqc_patrol", "ipqc_last"}
    chars = acc.get("/api/quality/spc/characteristics", who="op1")["items"]
    assert (acc.first_plan["id"], 1) in [(c["plan"], c["char_seq"]) for c in chars]
    assert {c["inspection_type"] for c in chars} <= {"ipqc_first", "ipqc_patrol", "ipqc_last"}
    cards = acc.get("/api/quality/inspections?limit=50", who="op1")["items"]
    assert acc.iqc_lot["code"] not in str(cards)
    assert acc.status("/api/reports/inspection_backlog/data", "op1")[0] == 403
