"""Dashboard widgets that cannot render are errors in words, and every chart shows its values: a pie
whose 数值 is a category (判定) is refused on preview and publish naming the widget and what to pick;
a pie of counts by 判定 shows option labels, counts and percentages; bars show their values."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

FORM = {"format": "mom.form/1", "name": "dv_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
        "fields": [
            {"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
            {"id": "f2", "key": "defects", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defects"}},
            {"id": "f3", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
             "options": [{"value": "a", "label": {"zh-CN": "合格", "en": "Pass"}}, {"value": "b", "label": {"zh-CN": "不合格", "en": "Fail"}}]},
        ]}
REPORT = {"format": "mom.report/1", "name": "dv_by_verdict", "label": {"zh-CN": "来料判定统计", "en": "By verdict"},
          "source": "dv_inspection", "dimensions": [{"key": "verdict", "field": "verdict"}],
          "measures": [{"key": "n", "agg": "count", "label": {"zh-CN": "记录数", "en": "Records"}}]}
DETAIL = {"format": "mom.report/1", "name": "dv_detail", "label": {"zh-CN": "检验明细", "en": "Detail"}, "source": "dv_inspection",
          "columns": [{"key": "lot", "field": "lot"}, {"key": "defects", "field": "defects"}]}


def dash(**widget: Any) -> dict[str, Any]:
    w = {"id": "w1", "title": {"zh-CN": "判定分布", "en": "Verdicts"}, "report": "dv_by_verdict",
         "position": {"x": 0, "y": 0, "w": 12, "h": 8}} | widget
    return {"format": "mom.dashboard/1", "name": "dv_board", "label": {"zh-CN": "来料检验看板", "en": "Inspection board"}, "widgets": [w]}


def setup(client: TestClient, admin: dict[str, str]) -> None:
    assert client.put("/api/forms/dv_inspection", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/records/dv_inspection", headers=admin, json=[
        {"lot": "L1", "verdict": "合格", "defects": 0}, {"lot": "L2", "verdict": "合格", "defects": 1},
        {"lot": "L3", "verdict": "不合格", "defects": 9}])
    assert r.status_code == 201, r.text
    for rep in (REPORT, DETAIL):
        r = client.put(f"/api/reports/{rep['name']}", json=rep, headers=admin)
        assert r.status_code == 200, r.text


def test_a_pie_whose_value_is_a_category_is_refused_in_words(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    bad = dash(type="pie", x="verdict", value="verdict")
    for call in (lambda: client.post("/api/dashboards/preview", json={"definition": bad}, headers=admin),
                 lambda: client.put("/api/dashboards/dv_board", json=bad, headers=admin)):
        r = call()
        assert r.status_code == 422, r.text
        problems = r.json()["problems"]
        assert [p["path"] for p in problems] == ["/widgets/0/value"]
        msg = problems[0]["message"]["zh-CN"]
        assert "「判定分布」饼图" in msg and "数值" in msg and "判定" in msg and "分类" in msg and "记录数" in msg
        assert "pie" not in msg and "value" not in msg
    assert client.get("/api/dashboards/dv_board", headers=admin).status_code == 404      # nothing published
    # a detail report's text column is a category too; its number column is fine
    r = client.post("/api/dashboards/preview", json={"definition": dash(type="kpi", report="dv_detail", value="lot")}, headers=admin)
    assert r.status_code == 422 and "批次号" in r.json()["problems"][0]["message"]["zh-CN"]
    r = client.post("/api/dashboards/preview", json={"definition": dash(type="kpi", report="dv_detail", value="defects")}, headers=admin)
    assert r.status_code == 200, r.text
    # a missing picker is named in words too
    r = client.post("/api/dashboards/preview", json={"definition": dash(type="bar", x="verdict")}, headers=admin)
    assert r.status_code == 422 and "柱状图还没有选数值" in r.json()["problems"][0]["message"]["zh-CN"]


def test_a_pie_of_counts_shows_labels_counts_and_percentages(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    r = client.put("/api/dashboards/dv_board", json=dash(type="pie", x="verdict", value="n"), headers=admin)
    assert r.status_code == 200, r.text
    w = client.get("/api/dashboards/dv_board/data", headers=admin).json()["widgets"][0]
    assert "error" not in w, w
    series = w["option"]["series"][0]
    assert sorted((d["name"], d["value"]) for d in series["data"]) == [("不合格", 1), ("合格", 2)]
    assert series["label"]["show"] and "{c}" in series["label"]["formatter"] and "{d}%" in series["label"]["formatter"]
    r = client.put("/api/dashboards/dv_board", json=dash(type="bar", x="verdict", y=["n"]), headers=admin)
    assert r.status_code == 200, r.text
    w = client.get("/api/dashboards/dv_board/data", headers=admin).json()["widgets"][0]
    assert w["option"]["xAxis"]["data"] == ["合格", "不合格"] or w["option"]["xAxis"]["data"] == ["不合格", "合格"]
    assert w["option"]["series"][0]["label"]["show"] is True


def test_a_bad_pie_stored_earlier_says_why_on_its_card(client: TestClient, admin: dict[str, str], engine: Any) -> None:
    """A dashboard published before the check (written straight to the store) shows the reason on the
    widget instead of an empty card; the other widgets still show."""
    import datetime as dt

    from mom.engines.reports import store
    from mom.platform.db.engine import write_tx

    setup(client, admin)
    raw = dash(type="pie", x="verdict", value="verdict")
    raw["widgets"].append({"id": "w2", "type": "kpi", "title": "记录数", "report": "dv_by_verdict", "value": "n",
                           "position": {"x": 12, "y": 0, "w": 6, "h": 4}})
    with write_tx(engine) as conn:
        store.apply(conn, "dashboard", raw, now=dt.datetime.now(dt.timezone.utc), actor_id=None)
    ws = {w["id"]: w for w in client.get("/api/dashboards/dv_board/data", headers=admin).json()["widgets"]}
    assert "option" not in ws["w1"]
    assert "「判定分布」饼图的数值「判定」是分类" in ws["w1"]["error"]["message"]["zh-CN"]
    assert "error" not in ws["w2"]
