"""Inspection entry API (检验录入, issue 22) on the demo plant with the quality pack, SQLite and PostgreSQL:
the inspector's list, one lot as a sample grid sized by its plan, saving readings (bounded, named by
第 N 件『特性』, row_version kept), permissions in words, and 判定 through the form's transitions.

The sampling figures are GB/T 2828.1-2012 (ISO 2859-1:1999) Table 1 and Table 2-A: a lot of 50 at
inspection level II is code letter D; at AQL 1.0 the D row's arrow points down to E: n = 13, Ac 0 / Re 1;
at AQL 6.5 D itself: n = 8, Ac 1 / Re 2. So one lot draws 13 samples, the 外径 (major) column is read on
all 13 and the 砂眼 (minor) column on the first 8 only — the same cells tests/unit/test_sampling_plan.py
checks against the standard."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store

SUPPLIER = "温州精密铸造有限公司"
ITEM = "SF-C50"          # 阀盖 DN50: a bought-in casting, lot-tracked
URL = "/api/quality/inspections"


class Inspection(Store):
    """The stock plant (`mom demo` brings the quality pack), its quality people and an operator."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine)
        self._passwords.update({"qc1": "qc1pass123", "qcm": "qcmpass123", "qe1": "qe1pass123"})
        with write_tx(engine) as conn:
            auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])
        self.post("/api/records/inspection_plan", who="qe1", body={
            "name": "阀盖来料检验", "inspection_type": "iqc", "item": self.items[ITEM], "supplier": SUPPLIER,
            "inspection_level": "II", "aql_critical": None, "aql_major": "1.0", "aql_minor": "6.5",
            "characteristics": [
                {"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": "50", "lsl": "49.9",
                 "usl": "50.1", "unit": "mm", "method": "外径千分尺"},
                {"seq_no": 2, "name": "砂眼", "kind": "attribute", "defect_class": "minor", "method": "目视"}]})

    def receive(self, qty: Any = 50) -> dict[str, Any]:         # type: ignore[override]
        out = self.doc("stock_receipt", [{"item": self.items[ITEM], "qty": qty, "to_location": self.loc["A01"]}], supplier=SUPPLIER)
        lots = self.find("inspection_lot", stock_receipt=out["id"])
        assert len(lots) == 1, lots
        return lots[0]

    def put(self, lot_id: int, body: Any, who: str = "qc1", status: int = 200) -> Any:
        r = self.client.put(f"{URL}/{lot_id}/results", json=body, headers=self.h(who))
        assert r.status_code == status, r.text
        return r.json()

    def judge(self, lot_id: int, who: str = "qc1", status: int = 200, **body: Any) -> Any:
        r = self.client.post(f"{URL}/{lot_id}/judge", json=body, headers=self.h(who))
        assert r.status_code == status, r.text
        return r.json()


@pytest.fixture
def qi(plant, client, engine) -> Inspection:  # type: ignore[no-untyped-def]
    return Inspection(client, engine)


def _all_good(bad_od: int = 0) -> list[dict[str, Any]]:
    """Every sampled position: 外径 on samples 1–13 (the first ``bad_od`` at 50.30 mm, out of tolerance), 砂眼 on 1–8 合格."""
    return ([{"sample_no": s, "char_seq": 1, "value": "50.30" if s <= bad_od else 50.02} for s in range(1, 14)]
            + [{"sample_no": s, "char_seq": 2, "ok": True} for s in range(1, 9)])


def test_the_inspector_lists_her_open_lots_and_opens_one_as_a_grid_sized_by_the_plan(qi: Inspection) -> None:
    lot = qi.receive(50)
    listed = qi.get(URL, who="qc1")["items"]
    card = next(c for c in listed if c["id"] == lot["id"])
    assert (card["status"], card["inspection_type"], card["type_label"]["zh-CN"]) == ("pending", "iqc", "来料检验")
    assert card["supplier"] == SUPPLIER and "阀盖" in card["item"] and card["sample_size"] == 13 and card["lot"]
    # judged: only the demo's history (its valve-body casting), none of this item yet
    assert [c for c in qi.get(f"{URL}?status=judged", who="qc1")["items"] if "阀盖" in c["item"]] == []
    assert [c["id"] for c in qi.get(f"{URL}?type=oqc", who="qc1")["items"]] == []
    assert lot["id"] in [c["id"] for c in qi.get(f"{URL}?q={lot['code']}", who="qc1")["items"]]

    g = qi.get(f"{URL}/{lot['id']}", who="qc1")
    assert [(c["name"], c["kind"], c["lsl"], c["usl"], c["unit"]) for c in g["characteristics"]] == [
        ("外径", "numeric", 49.9, 50.1, "mm"), ("砂眼", "attribute", None, None, None)]
    # GB/T 2828.1: lot 50, level II → D; AQL 1.0 → ↓ E: 13, Ac 0 Re 1; AQL 6.5 → D: 8, Ac 1 Re 2
    assert [(c["key"], c["n"], c["ac"], c["re"], c["defects"]) for c in g["classes"]] == [("major", 13, 0, 1, 0), ("minor", 8, 1, 2, 0)]
    assert len(g["samples"]) == 13 and g["missing"] == 13 + 8
    assert [c["required"] for c in g["samples"][8]["cells"]] == [True, False]      # sample 9: no 砂眼 reading
    assert g["may"] == {"enter": True, "judge": True}
    assert qi.get(f"{URL}/{lot['id']}", who="qe1")["may"] == {"enter": False, "judge": False}   # the engineer reads


def test_readings_save_through_the_record_and_turn_red_outside_the_limits(qi: Inspection) -> None:
    lot = qi.receive(50)
    g = qi.put(lot["id"], {"row_version": lot["row_version"], "cells": [
        {"sample_no": 1, "char_seq": 1, "value": "50.02"}, {"sample_no": 2, "char_seq": 1, "value": 50.3},
        {"sample_no": 1, "char_seq": 2, "ok": False, "defect_code": _code(qi, "砂眼")}]})
    assert g["status"] == "inspecting"                       # the first reading starts the lot (开始检验)
    cells = {(s["sample_no"], c["char_seq"]): c for s in g["samples"] for c in s["cells"]}
    assert (cells[(1, 1)]["value"], cells[(1, 1)]["ok"]) == (50.02, True)
    assert (cells[(2, 1)]["value"], cells[(2, 1)]["ok"]) == (50.3, False)
    assert cells[(1, 2)]["ok"] is False and "砂眼" in cells[(1, 2)]["defect_text"]
    assert {c["key"]: (c["defects"], c["rejected"]) for c in g["classes"]} == {"major": (1, True), "minor": (1, False)}
    stored = qi.get(f"/api/records/inspection_lot/{lot['id']}")["results"]
    assert sorted((r["sample_no"], r["char_seq"], r["characteristic"]) for r in stored) == [(1, 1, "外径"), (1, 2, "砂眼"), (2, 1, "外径")]
    # a correction replaces the reading, an emptied cell removes it; the others stay
    g2 = qi.put(lot["id"], {"row_version": g["row_version"], "cells": [{"sample_no": 2, "char_seq": 1, "value": "50.05"},
                                                                       {"sample_no": 1, "char_seq": 2, "ok": None}]})
    assert g2["row_version"] > g["row_version"] and g2["classes"][0]["defects"] == 0 and g2["missing"] == 21 - 2
    # the version she entered on is stale now: refused, nothing overwritten
    r = qi.client.put(f"{URL}/{lot['id']}/results", headers=qi.h("qc1"),
                      json={"row_version": g["row_version"], "cells": [{"sample_no": 3, "char_seq": 1, "value": 50}]})
    assert r.status_code == 409 and "已被他人修改" in r.json()["message"]["zh-CN"]


def _code(qi: Inspection, name: str) -> int:
    found = qi.find("defect_code", name=name)
    assert found, f"defect code {name} is one of the pack's fixtures"
    return int(found[0]["id"])


@pytest.mark.parametrize(("cell", "words"), [
    ({"sample_no": 1, "char_seq": 1, "value": "abc"}, "第 1 件『外径』的读数「abc」不是有效的数字"),
    ({"sample_no": 1, "char_seq": 1, "value": "Infinity"}, "第 1 件『外径』的读数「Infinity」不是有效的数字"),
    ({"sample_no": 1, "char_seq": 1, "value": 1e13}, "第 1 件『外径』的读数"),
    ({"sample_no": 14, "char_seq": 1, "value": 50}, "件号 14 不在 1–13 之内"),
    ({"sample_no": 9, "char_seq": 2, "ok": True}, "第 9 件『砂眼』不在抽样范围内（轻微缺陷只抽 8 件）"),
    ({"sample_no": 1, "char_seq": 7, "value": 50}, "检验方案中没有第 7 个检验项目"),
    ({"sample_no": 1, "char_seq": 2, "ok": "yes"}, "第 1 件『砂眼』应选 合格 或 不合格"),
])
def test_a_bad_reading_is_refused_naming_the_sample_and_the_characteristic(qi: Inspection, cell: dict[str, Any], words: str) -> None:
    lot = qi.receive(50)
    r = qi.client.put(f"{URL}/{lot['id']}/results", json={"cells": [cell]}, headers=qi.h("qc1"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert words in body["message"]["zh-CN"] + "".join(p["message"]["zh-CN"] for p in body["problems"])
    assert qi.get(f"/api/records/inspection_lot/{lot['id']}")["results"] == []        # nothing saved


def test_a_save_is_bounded(qi: Inspection) -> None:
    lot = qi.receive(50)
    too_many = [{"sample_no": 1, "char_seq": 1, "value": 50}] * 2001
    r = qi.client.put(f"{URL}/{lot['id']}/results", json={"cells": too_many}, headers=qi.h("qc1"))
    assert r.status_code == 422 and "最多保存 2000 个读数" in r.json()["message"]["zh-CN"]
    for body in ([1, 2], {"cells": "50.1"}, {"cells": [{"sample_no": 1, "char_seq": 1, "value": 50}], "row_version": "x"}):
        r = qi.client.put(f"{URL}/{lot['id']}/results", json=body, headers=qi.h("qc1"))
        assert r.status_code == 422, r.text
    for bad in ("/999999999", "/0", "/abc"):
        assert qi.client.get(URL + bad, headers=qi.h("qc1")).status_code in (404, 422)
    assert qi.client.get(f"{URL}?status=done", headers=qi.h("qc1")).status_code == 422
    assert qi.client.get(f"{URL}?limit=5000", headers=qi.h("qc1")).status_code == 422


def test_a_reader_may_neither_enter_nor_judge_and_is_told_so(qi: Inspection) -> None:
    lot = qi.receive(50)
    # quality 1.1.0: an operator reads the in-process lots only — an incoming one is refused in words
    r = qi.client.get(f"{URL}/{lot['id']}", headers=qi.h("op1"))
    assert r.status_code == 403 and "检验单" in r.json()["message"]["zh-CN"], r.text
    # the roles that read every lot (仓管员, 计划员, 车间主任) see the grid but may not enter nor judge
    _op1 = "store1"
    g = qi.get(f"{URL}/{lot['id']}", who=_op1)
    assert g["may"] == {"enter": False, "judge": False}
    r = qi.client.put(f"{URL}/{lot['id']}/results", json={"cells": _all_good()}, headers=qi.h(_op1))
    assert r.status_code == 403 and "只有质检员或质量经理可以录入检验结果" in r.json()["message"]["zh-CN"]
    r = qi.client.post(f"{URL}/{lot['id']}/judge", json={}, headers=qi.h(_op1))
    assert r.status_code == 403 and "判定" in r.json()["message"]["zh-CN"]
    assert qi.client.get(URL).status_code == 401
    assert qi.get(f"/api/records/inspection_lot/{lot['id']}")["status"] == "pending"


def test_judge_refuses_missing_readings_in_words_then_accepts_and_releases_the_lot(qi: Inspection) -> None:
    lot = qi.receive(50)
    qi.put(lot["id"], {"cells": _all_good()[:-1]})                        # 砂眼 of sample 8 not yet read
    r = qi.client.post(f"{URL}/{lot['id']}/judge", json={}, headers=qi.h("qc1"))
    assert r.status_code == 422 and "第 8 件『砂眼』还没有读数" in r.json()["message"]["zh-CN"]
    qi.put(lot["id"], {"cells": _all_good()[-1:]})
    g = qi.judge(lot["id"])
    assert (g["status"], g["result"], g["result_label"]["zh-CN"]) == ("judged", "accepted", "合格")
    assert g["defects"] == {"critical": None, "major": 0, "minor": 0} and g["ncr"] is None and g["switching_note"]
    assert g["inspected_by"] and g["may"]["enter"] is False
    assert qi.get(f"/api/records/lot/{lot['lot']}")["status"] == "released"      # 放行
    r = qi.client.put(f"{URL}/{lot['id']}/results", json={"cells": _all_good()}, headers=qi.h("qc1"))
    assert r.status_code == 409 and "「已判定」" in r.json()["message"]["zh-CN"]
    assert lot["id"] in [c["id"] for c in qi.get(f"{URL}?status=judged", who="qc1")["items"]]


def test_judge_rejects_on_one_bad_diameter_and_answers_the_ncr(qi: Inspection) -> None:
    lot = qi.receive(50)
    qi.put(lot["id"], {"cells": _all_good(bad_od=1)})
    g = qi.judge(lot["id"])                                     # major: 1 ≥ Re 1 → rejected
    assert (g["result"], g["defects"]["major"]) == ("rejected", 1)
    assert g["ncr"] and g["ncr"]["code"].startswith("NCR-") and g["ncr"]["id"]
    assert qi.get(f"/api/records/lot/{lot['lot']}")["status"] == "blocked"       # 冻结
