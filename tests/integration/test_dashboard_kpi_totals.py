"""A KPI card (or a gauge) over a report with categories shows the overall value, not the last group's:
the total of a count or a sum, and for an average, a distinct count, a maximum or a ratio the figure
re-aggregated from the records (never an average of the groups' averages). The expected numbers are
computed here from the records the test writes. A share of the total (always 100 % overall) is a
designer error saying what to pick. The card carries the measure's name and the unit given to it."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login

FORM = {"format": "mom.form/1", "name": "kt_ncr", "label": {"zh-CN": "不合格品处理单", "en": "NCR"},
        "fields": [
            {"id": "f1", "key": "product", "type": "text", "label": {"zh-CN": "产品名称", "en": "Product"}},
            {"id": "f2", "key": "defects", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defects"}},
            {"id": "f3", "key": "kind", "type": "select", "label": {"zh-CN": "缺陷类型", "en": "Defect type"},
             "options": [{"value": "size", "label": {"zh-CN": "尺寸超差", "en": "Size"}},
                         {"value": "hole", "label": {"zh-CN": "砂眼", "en": "Blowhole"}},
                         {"value": "leak", "label": {"zh-CN": "泄漏", "en": "Leak"}}]},
        ]}
RECORDS = [  # 尺寸超差 12 (over two records), 砂眼 3, 泄漏 8: the review's numbers
    {"product": "阀体A", "kind": "size", "defects": 5}, {"product": "阀体B", "kind": "size", "defects": 7},
    {"product": "阀盖", "kind": "hole", "defects": 3}, {"product": "阀体A", "kind": "leak", "defects": 8},
]
MEASURES = [
    {"key": "n", "agg": "count", "label": {"zh-CN": "记录数", "en": "Records"}},
    {"key": "defects", "agg": "sum", "field": "defects", "label": {"zh-CN": "不良数", "en": "Defects"}},
    {"key": "avg_defects", "agg": "avg", "field": "defects", "label": {"zh-CN": "平均不良数", "en": "Mean defects"}},
    {"key": "products", "agg": "count_distinct", "field": "product", "label": {"zh-CN": "产品数", "en": "Products"}},
    {"key": "worst", "agg": "max", "field": "defects", "label": {"zh-CN": "最多不良", "en": "Worst"}},
    {"key": "per_record", "ratio": ["defects", "n"], "label": {"zh-CN": "单均不良", "en": "Defects per record"}},
    {"key": "to_date", "running_total": "defects", "label": {"zh-CN": "累计不良", "en": "Defects to date"}},
    {"key": "share", "share_of": "defects", "label": {"zh-CN": "不良占比", "en": "Share of defects"}},
]
GROUPED = {"format": "mom.report/1", "name": "kt_by_kind", "label": {"zh-CN": "不合格品统计", "en": "NCR by type"},
           "source": "kt_ncr", "dimensions": [{"key": "kind", "field": "kind", "label": {"zh-CN": "缺陷类型", "en": "Defect type"}}],
           "measures": MEASURES}
DETAIL = {"format": "mom.report/1", "name": "kt_detail", "label": {"zh-CN": "不合格品明细", "en": "NCR detail"}, "source": "kt_ncr",
          "columns": [{"key": "product", "field": "product"}, {"key": "defects", "field": "defects"}]}


def board(*widgets: dict[str, Any]) -> dict[str, Any]:
    ws = [{"title": {"zh-CN": f"指标{i}", "en": f"KPI {i}"}, "report": "kt_by_kind", "position": {"x": 0, "y": 0, "w": 6, "h": 4}} | w
          for i, w in enumerate(widgets)]
    return {"format": "mom.dashboard/1", "name": "kt_board", "label": {"zh-CN": "不合格品看板", "en": "NCR board"}, "widgets": ws}


def setup(client: TestClient, admin: dict[str, str]) -> None:
    assert client.put("/api/forms/kt_ncr", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/records/kt_ncr", headers=admin, json=RECORDS)
    assert r.status_code == 201, r.text
    for rep in (GROUPED, DETAIL):
        r = client.put(f"/api/reports/{rep['name']}", json=rep, headers=admin)
        assert r.status_code == 200, r.text


def expected() -> dict[str, float]:
    """The overall figures, from the records themselves."""
    d = [r["defects"] for r in RECORDS]
    return {"n": len(RECORDS), "defects": sum(d), "avg_defects": sum(d) / len(d), "products": len({r["product"] for r in RECORDS}),
            "worst": max(d), "per_record": sum(d) / len(RECORDS), "to_date": sum(d)}


def test_a_kpi_over_a_grouped_report_shows_the_overall_value(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    want = expected()
    assert want["defects"] == 23 and want["avg_defects"] != (12 / 2 + 3 + 8) / 3     # the review's total; averages differ
    # the report itself still answers one row per group, the last of which the old card showed
    rows = client.get("/api/reports/kt_by_kind/data", headers=admin).json()["rows"]
    assert len(rows) == 3 and sorted(r["defects"] for r in rows) == [3, 8, 12]
    widgets = [{"id": f"k_{k}", "type": "kpi", "value": k} for k in want] + [{"id": "g", "type": "gauge", "value": "defects", "max": 50}]
    for call in (lambda: client.post("/api/dashboards/preview", json={"definition": board(*widgets)}, headers=admin),
                 lambda: (client.put("/api/dashboards/kt_board", json=board(*widgets), headers=admin),
                          client.get("/api/dashboards/kt_board/data", headers=admin))[-1]):
        r = call()
        assert r.status_code == 200, r.text
        got = {w["id"]: w for w in r.json()["widgets"]}
        for k, v in want.items():
            assert "error" not in got[f"k_{k}"], got[f"k_{k}"]
            assert abs(float(got[f"k_{k}"]["value"]) - v) < 1e-9, (k, got[f"k_{k}"]["value"], v)
        assert got["g"]["value"] == 23 and got["g"]["option"]["series"][0]["data"][0]["value"] == 23
        assert got["k_defects"]["label"] == "不良数" and got["k_avg_defects"]["label"] == "平均不良数"


def test_a_kpi_following_a_trend_still_shows_the_latest_group(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    r = client.post("/api/dashboards/preview", headers=admin,
                    json={"definition": board({"id": "t", "type": "kpi", "value": "defects", "trend": "kind"})})
    assert r.status_code == 200, r.text
    w = r.json()["widgets"][0]
    rows = client.get("/api/reports/kt_by_kind/data", headers=admin).json()["rows"]
    assert w["value"] == rows[-1]["defects"] and len(w["trend"]) == 3


def test_a_kpi_of_a_share_is_a_designer_error_saying_what_to_pick(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    bad = board({"id": "s", "type": "kpi", "value": "share"})
    for r in (client.post("/api/dashboards/preview", json={"definition": bad}, headers=admin),
              client.put("/api/dashboards/kt_board", json=bad, headers=admin)):
        assert r.status_code == 422, r.text
        p = r.json()["problems"]
        assert [x["path"] for x in p] == ["/widgets/0/value"]
        msg = p[0]["message"]["zh-CN"]
        assert "「指标0」指标卡" in msg and "不良占比" in msg and "100%" in msg and "请改选" in msg
    assert client.get("/api/dashboards/kt_board", headers=admin).status_code == 404


def test_a_kpi_over_a_detail_report_sums_its_column_and_shows_label_and_unit(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    dash = board({"id": "d", "type": "kpi", "report": "kt_detail", "value": "defects", "unit": {"zh-CN": "件", "en": "pcs"}})
    r = client.post("/api/dashboards/preview", json={"definition": dash}, headers=admin)
    assert r.status_code == 200, r.text
    w = r.json()["widgets"][0]
    assert w["value"] == sum(x["defects"] for x in RECORDS)
    assert w["label"] == "不良数" and w["unit"] == {"zh-CN": "件", "en": "pcs"}


def test_the_overall_value_keeps_the_callers_row_scope(client: TestClient, admin: dict[str, str], engine: sa.engine.Engine) -> None:
    """An inspector who may read only her own records sees the total of her records, not everyone's."""
    with write_tx(engine) as conn:
        auth.ensure_role(conn, "inspector", {"zh-CN": "检验员", "en": "Inspector"})
        auth.create_user(conn, username="kt_ins", password_hash=fixture_hash("kt_ins-pass-1"), roles=["inspector"])
    own = [{"role": "inspector", "actions": ["create", "read", "update"], "scope": "own"}]
    setup(client, admin)
    assert client.put("/api/forms/kt_ncr", json=FORM | {"permissions": own}, headers=admin).status_code == 200
    ins = login(client, "kt_ins", "kt_ins-pass-1")
    mine = [{"product": "阀体C", "kind": "leak", "defects": 4}, {"product": "阀体C", "kind": "hole", "defects": 2}]
    assert client.post("/api/records/kt_ncr", json=mine, headers=ins).status_code == 201
    grouped = GROUPED | {"permissions": {"roles": ["inspector"]}}
    assert client.put("/api/reports/kt_by_kind", json=grouped, headers=admin).status_code == 200
    r = client.post("/api/dashboards/preview", headers=ins, json={"definition": board(
        {"id": "sum", "type": "kpi", "value": "defects"}, {"id": "avg", "type": "kpi", "value": "avg_defects"})})
    assert r.status_code == 200, r.text
    got = {w["id"]: w for w in r.json()["widgets"]}
    assert got["sum"]["value"] == sum(x["defects"] for x in mine)
    assert got["avg"]["value"] == sum(x["defects"] for x in mine) / len(mine)
