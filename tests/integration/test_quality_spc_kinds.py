"""Inspections feed every chart they can (issue 22): attribute characteristics charted p / np / c / u from the
judged lots' pass-fail marks and defect counts, numeric ones charted EWMA / CUSUM with alarms from the newest
lot, phase II baselines set from the chart by who may edit the plan, and plans whose chart does not fit the
characteristic refused in words. Every lot goes through the API (created, read, judged) as an inspector does.

References — D. C. Montgomery, *Introduction to Statistical Quality Control*, 6th ed. (Wiley 2009):
- Example 7.1 / Table 7.1: orange-juice cans, 30 samples of n = 50: p̄ = 0.2313, UCL = 0.4102, LCL = 0.0524,
  samples 15 and 23 above the UCL; without them (new cardboard lot, inexperienced operator) p̄ = 0.2150 and the
  revised limits 0.3893 / 0.0407 (§7.2.1).
- Example 7.3 / Table 7.7: nonconformities on 26 printed-circuit boards: c̄ = 19.85, UCL = 33.22, LCL = 6.48.
- Example 7.4 / Table 7.9: personal computers, 20 samples of 5: ū = 1.93, UCL = 3.79, LCL = 0.07.
- §9.1–9.2, Table 9.1 (μ0 = 10, σ = 1): tabular CUSUM k = 0.5, h = 5 signals first at sample 29 (C⁺₂₉ = 5.28,
  N⁺ = 7, μ̂ = 11.25, Table 9.2); EWMA λ = 0.1, L = 2.7 (z₁ = 9.945, UCL₁ = 10.27) signals at 29 as well.
The same data are checked against the bare engine in tests/unit/test_spc_reference.py. SQLite and PostgreSQL.
"""
from __future__ import annotations

import math
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.test_quality_spc_feed import Lab
from tests.unit.test_spc_reference import MONTGOMERY_9_1

JUICE = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]
BOARDS = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]
COMPUTERS = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]


class Kinds(Lab):
    def make_plan(self, chars: list[dict[str, Any]], n: int, who: str = "qe1") -> int:
        rows = [{"defect_class": "major", "spc": True, **c} for c in chars]
        body = {"name": "SPC 图型", "inspection_type": "iqc", "item": self.item, "fixed_sample_size": n, "characteristics": rows}
        return int(self.post("/api/records/inspection_plan", body, who=who, status=201)["id"])

    def lot(self, plan: int, cells: list[dict[str, Any]], lot_qty: int = 500) -> dict[str, Any]:
        lot = self.post("/api/records/inspection_lot", {"plan": plan, "item": self.item, "inspection_type": "iqc",
                                                         "lot_qty": lot_qty}, who="insp1", status=201)
        r = self.client.put(f"/api/quality/inspections/{lot['id']}/results", json={"cells": cells}, headers=self.h("insp1"))
        assert r.status_code == 200, r.text
        return self.post(f"/api/quality/inspections/{lot['id']}/judge", {}, who="insp1")

    def marks(self, plan: int, bad: int, n: int, seq: int = 1) -> dict[str, Any]:
        """A lot of ``n`` samples of which the first ``bad`` fail the attribute characteristic ``seq``."""
        return self.lot(plan, [{"sample_no": i + 1, "char_seq": seq, "ok": i >= bad} for i in range(n)])

    def defects(self, plan: int, per_unit: list[int]) -> dict[str, Any]:
        """A lot whose units carry these numbers of defects (typed into 测量值; a unit with any fails)."""
        return self.lot(plan, [{"sample_no": i + 1, "char_seq": 1, "ok": d == 0, "value": d} for i, d in enumerate(per_unit)])

    def rejected(self, path: str, body: Any, who: str = "qe1", method: str = "post") -> tuple[int, dict[str, Any]]:
        r = getattr(self.client, method)(path, json=body, headers=self.h(who))
        return r.status_code, r.json()


@pytest.fixture
def kinds(core_pack: sa.engine.Engine, client: Any) -> Kinds:
    return Kinds(client, core_pack)


def _main(res: dict[str, Any]) -> dict[str, Any]:
    return res["spc"]["charts"][0]


def test_p_chart_of_orange_juice_cans_from_thirty_lots(kinds: Kinds) -> None:
    plan = kinds.make_plan([{"seq_no": 1, "name": "封口", "kind": "attribute", "chart": "p"}], n=50)
    lots = [kinds.marks(plan, d, 50) for d in JUICE]
    res = kinds.chart(plan)
    p = _main(res)
    assert res["spc"]["type"] == "p" and res["characteristic"]["kind"] == "attribute"
    assert (p["center"], p["ucl"], p["lcl"]) == pytest.approx((0.2313, 0.4102, 0.0524), abs=5e-5)
    assert sorted(v["index"] + 1 for v in p["violations"] if v["rule"] == 1) == [15, 23]
    assert res["subgroups"][14]["count"] == 22 and res["subgroups"][14]["n"] == 50     # what the point is made of
    assert "capability" not in res["spc"]
    # alarms from the newest lot once 20 lots are in: lot 21 (20/50 = 0.400 > 0.3995, the limit from 21 lots),
    # 22 (2 of 3 beyond 2σ) and 23 (0.48 beyond the limit); 15 came before the trial limits were trustworthy
    alarms = {a["subgroup"]: a["rule"] for a in res["alarms"]}
    assert sorted(alarms) == sorted(lots[i]["code"] for i in (20, 21, 22))
    assert alarms[lots[22]["code"]].startswith("不合格品率图：1 点超出控制限")
    assert any(n["title"].endswith(lots[22]["code"]) for n in kinds.notes("qe1"))
    # the assignable causes found, the two points excluded with them: p̄ = 0.2150 (Montgomery §7.2.1)
    for i, why in ((14, "新批纸板"), (22, "新操作工")):
        kinds.post("/api/quality/spc/exclusions", {"plan": plan, "char_seq": 1, "inspection_lot": lots[i]["id"], "reason": why},
                   who="qe1", status=201)
    assert _main(kinds.chart(plan))["center"] == pytest.approx(0.2150, abs=5e-5)
    # an inspector may read the plan but not edit it: no baseline from her
    code, body = kinds.rejected("/api/quality/spc/baseline", {"plan": plan, "char_seq": 1}, who="insp1")
    assert code == 403, body
    made = kinds.post("/api/quality/spc/baseline", {"plan": plan, "char_seq": 1}, who="qe1")
    assert made["baseline_mean"] == pytest.approx(0.215, abs=1e-6) and made["baseline_sigma"] is None and made["subgroups"] == 28
    row = kinds.get(f"/api/records/inspection_plan/{plan}", who="qe1")["characteristics"][0]
    assert float(row["baseline_mean"]) == pytest.approx(0.215, abs=1e-6) and row["name"] == "封口"
    fixed = kinds.chart(plan)
    p2 = _main(fixed)
    assert fixed["spc"]["phase"] == "II" and (p2["ucl"], p2["lcl"]) == pytest.approx((0.3893, 0.0407), abs=5e-5)
    code, body = kinds.rejected("/api/quality/spc/baseline", {"plan": plan, "char_seq": 1})
    assert code == 409 and "固定控制限" in body["message"]["zh-CN"]
    # a lot of another sample size gets its own limits (p̄ ± 3√(p̄(1−p̄)/n)); 10 of 100 is in control
    version = kinds.get(f"/api/records/inspection_plan/{plan}", who="qe1")["row_version"]
    r = kinds.client.patch(f"/api/records/inspection_plan/{plan}", json={"fixed_sample_size": 100, "row_version": version},
                           headers=kinds.h("qe1"))
    assert r.status_code == 200, r.text
    kinds.marks(plan, 10, 100)
    p3 = _main(kinds.chart(plan))
    assert p3["ucl_points"][-1] == pytest.approx(0.215 + 3 * math.sqrt(0.215 * 0.785 / 100), abs=1e-9)
    assert p3["ucl_points"][0] == pytest.approx(0.3893, abs=5e-5) and len(kinds.chart(plan)["alarms"]) == 3


def test_c_chart_of_circuit_boards_and_a_u_chart_of_computers(kinds: Kinds) -> None:
    boards = kinds.make_plan([{"seq_no": 1, "name": "焊接缺陷", "kind": "attribute", "chart": "c", "ncr_on_alarm": True}], n=1)
    lots = [kinds.defects(boards, [d]) for d in BOARDS]
    res = kinds.chart(boards)
    c = _main(res)
    assert c["center"] == pytest.approx(19.85, abs=0.005) and (c["ucl"], c["lcl"]) == pytest.approx((33.22, 6.48), abs=0.011)
    assert sorted(v["index"] + 1 for v in c["violations"] if v["rule"] == 1) == [6, 20]
    # board 20 (39 defects) beyond the limits of the first 20 boards, board 21 (30) the second of 3 beyond 2σ
    assert sorted(a["subgroup"] for a in res["alarms"]) == [lots[19]["code"], lots[20]["code"]]
    alarm = next(a for a in res["alarms"] if a["subgroup"] == lots[19]["code"])
    assert alarm["rule"].startswith("缺陷数图：1 点超出控制限") and alarm["value"] == 39 and alarm["ncr"]
    # u chart: each computer's defects typed per unit, five units a lot (the book gives the totals per sample)
    pcs = kinds.make_plan([{"seq_no": 1, "name": "装配缺陷", "kind": "attribute", "chart": "u"}], n=5)
    for total in COMPUTERS:
        kinds.defects(pcs, [total // 5 + (1 if i < total % 5 else 0) for i in range(5)])
    u = kinds.chart(pcs)
    assert (_main(u)["center"], _main(u)["ucl"], _main(u)["lcl"]) == pytest.approx((1.93, 3.79, 0.07), abs=0.005)
    assert u["alarms"] == [] and u["subgroups"][0]["count"] == 10 and u["subgroups"][0]["n"] == 5
    listed = {c["plan"]: c for c in kinds.get("/api/quality/spc/characteristics", who="qe1")["items"]}
    assert listed[pcs]["chart"] == "u" and listed[pcs]["subgroups"] == 20 and listed[boards]["open_alarms"] == 2


def test_cusum_and_ewma_alarm_when_the_newest_lot_signals(kinds: Kinds) -> None:
    plan = kinds.make_plan([
        {"seq_no": 1, "name": "壁厚", "kind": "numeric", "chart": "cusum", "cusum_k": 0.5, "cusum_h": 5,
         "baseline_mean": 10, "baseline_sigma": 1},
        {"seq_no": 2, "name": "壁厚（EWMA）", "kind": "numeric", "chart": "ewma", "ewma_lambda": 0.1, "ewma_l": 2.7,
         "baseline_mean": 10, "baseline_sigma": 1}], n=1)
    lots = [kinds.lot(plan, [{"sample_no": 1, "char_seq": s, "value": x} for s in (1, 2)]) for x in MONTGOMERY_9_1]
    res = kinds.chart(plan)
    up, down = res["spc"]["charts"]
    assert (up["name"], down["name"], res["spc"]["phase"]) == ("cusum_upper", "cusum_lower", "II")
    assert [round(v, 2) for v in up["points"][3:8]] == [1.16, 2.82, 2.50, 0.04, 1.00] and up["ucl"] == pytest.approx(5)
    assert round(up["points"][28], 2) == 5.28
    # the first signal is sample 29; 30 still signals: one alarm each, none before
    assert [a["subgroup"] for a in reversed(res["alarms"])] == [lots[28]["code"], lots[29]["code"]]
    first = next(a for a in res["alarms"] if a["subgroup"] == lots[28]["code"])
    assert first["rule"].startswith("CUSUM 图（上侧）：CUSUM 超出决策区间 H（估计均值已移到 11.25，约自检验单 " + lots[22]["code"])
    ew = kinds.chart(plan, char_seq=2)
    z = _main(ew)
    assert z["points"][0] == pytest.approx(9.945, abs=5e-4) and z["ucl_points"][0] == pytest.approx(10.27, abs=0.005)
    assert [a["subgroup"] for a in reversed(ew["alarms"])] == [lots[28]["code"], lots[29]["code"]]
    assert ew["alarms"][0]["rule"].startswith("EWMA 图：EWMA 超出控制限")
    assert "capability" not in ew["spc"]     # no specification limits given


def test_phase_one_ewma_estimates_from_the_lots_and_takes_them_as_the_baseline(kinds: Kinds) -> None:
    plan = kinds.make_plan([{"seq_no": 1, "name": "壁厚", "kind": "numeric", "chart": "ewma", "lsl": 6, "usl": 14}], n=1)
    for x in MONTGOMERY_9_1[:19]:
        kinds.lot(plan, [{"sample_no": 1, "char_seq": 1, "value": x}])
    code, body = kinds.rejected("/api/quality/spc/baseline", {"plan": plan, "char_seq": 1})
    assert code == 422 and "至少要由 20 个" in body["message"]["zh-CN"]
    kinds.lot(plan, [{"sample_no": 1, "char_seq": 1, "value": MONTGOMERY_9_1[19]}])
    res = kinds.chart(plan)
    first20 = MONTGOMERY_9_1[:20]
    mr = sum(abs(b - a) for a, b in zip(first20, first20[1:])) / 19
    assert res["spc"]["phase"] == "I" and res["spc"]["target"] == pytest.approx(sum(first20) / 20)
    assert res["spc"]["sigma"] == pytest.approx(mr / (2 / math.sqrt(math.pi)))          # MR̄ / d2(2), d2(2) = 2/√π
    assert res["spc"]["capability"]["Cp"] == pytest.approx(8 / (6 * res["spc"]["sigma"]))
    made = kinds.post("/api/quality/spc/baseline", {"plan": plan, "char_seq": 1}, who="qm1")
    assert made["baseline_mean"] == pytest.approx(sum(first20) / 20, abs=1e-6)
    assert made["baseline_sigma"] == pytest.approx(mr / (2 / math.sqrt(math.pi)), abs=1e-6)
    assert kinds.chart(plan)["spc"]["phase"] == "II"


def test_a_chart_that_does_not_fit_the_characteristic_is_refused_in_words(kinds: Kinds) -> None:
    code, body = kinds.rejected("/api/records/inspection_plan", {
        "name": "外观", "inspection_type": "iqc", "item": kinds.item, "fixed_sample_size": 5,
        "characteristics": [{"seq_no": 1, "name": "内径", "kind": "numeric", "defect_class": "major"},
                            {"seq_no": 2, "name": "外观", "kind": "attribute", "defect_class": "minor", "spc": True, "chart": "xbar_r"}]})
    assert code == 422 and "计数项目「外观」进控制图要用不合格品率图 p" in body["message"]["zh-CN"]
    assert body["problems"][0]["path"] == "/characteristics/1/chart"
    plan = kinds.make_plan([{"seq_no": 1, "name": "内径", "kind": "numeric", "chart": "xbar_r"}], n=5)
    before = kinds.get(f"/api/records/inspection_plan/{plan}", who="qe1")
    for row, words in (({"chart": "p"}, "计量项目「内径」进控制图要用均值-极差"),
                       ({"baseline_mean": 74.0}, "基准均值和基准标准差（大于 0）要一起填"),
                       ({"kind": "attribute", "chart": "np", "baseline_mean": 5}, "不合格品率，须在 0 到 1 之间")):
        rows = [{**before["characteristics"][0], **row}]
        code, body = kinds.rejected(f"/api/records/inspection_plan/{plan}", {"characteristics": rows, "row_version": before["row_version"]},
                                    method="patch")
        assert code == 422 and words in body["message"]["zh-CN"], body
    after = kinds.get(f"/api/records/inspection_plan/{plan}", who="qe1")
    assert after["row_version"] == before["row_version"] and after["characteristics"][0]["chart"] == "xbar_r"   # nothing saved


def test_baseline_and_chart_refusals_name_the_date_or_the_right(kinds: Kinds) -> None:
    """Review of issue 22: 9999-12-31 (plus a day) and 0001-01-01 were 500s; dates reversed said "only 0 lots";
    an operator, who reads in-process plans only, got "plan 1 has no characteristic 1" (404) for a plan that
    exists; an inspector was offered 「以当前数据为基准」 that then failed."""
    with write_tx(kinds.engine) as conn:
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])
    plan = kinds.make_plan([{"seq_no": 1, "name": "封口", "kind": "attribute", "chart": "p"}], n=50)
    base = {"plan": plan, "char_seq": 1}
    for body, words, pointer in (({**base, "from": "0001-01-01", "to": "9999-12-31"}, "起始日期", "/from"),
                                 ({**base, "to": "9999-12-31"}, "截止日期", "/to"),
                                 ({**base, "from": "2026-03-01", "to": "2026-02-01"}, "起始日期晚于截止日期", "/from")):
        code, got = kinds.rejected("/api/quality/spc/baseline", body)
        assert code == 422 and words in got["message"]["zh-CN"] and got["problems"][0]["path"] == pointer, (body, got)
    for q, words in (("&to=9999-12-31", "截止日期"), ("&from=2026-03-01&to=2026-02-01", "起始日期晚于截止日期")):
        r = kinds.client.get(f"/api/quality/spc/chart?plan={plan}&char_seq=1{q}", headers=kinds.h("qe1"))
        assert r.status_code == 422 and words in r.json()["message"]["zh-CN"], (q, r.text)
    for path, method, body in (("/api/quality/spc/baseline", "post", base),
                               (f"/api/quality/spc/chart?plan={plan}&char_seq=1", "get", None)):
        r = getattr(kinds.client, method)(path, headers=kinds.h("op1"), **({"json": body} if body else {}))
        assert r.status_code == 403 and "无权限" in r.json()["message"]["zh-CN"] and "检验方案" in r.json()["message"]["zh-CN"], r.text
    code, got = kinds.rejected("/api/quality/spc/baseline", base, who="insp1")
    assert code == 403 and "无权限修改「检验方案」" in got["message"]["zh-CN"], got
    assert kinds.chart(plan, who="insp1")["may"]["set_baseline"] is False       # the page hides the button
    assert kinds.chart(plan, who="qe1")["may"]["set_baseline"] is True
