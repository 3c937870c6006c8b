"""Issue 20 review #6 and #4: the list's quick search finds any text the user sees (a batch number, a
code, an option's label), bounded and within her row scope; and the list says, in words, when it
shows only part of the records because of her read scope (without counting what she may not see)."""
from __future__ import annotations

from typing import Any

from tests.integration.test_export_for_people import FORM, NCR_FORM, add_records, publish_ncr_form
from tests.integration.wf_helpers import Plant


def _list(plant: Plant, user: str, **params: Any) -> Any:
    return plant.client.get(f"/api/records/{FORM}", params=params, headers=plant.h(user))


def _products(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [d["product"] for d in r.json()["items"]]


def test_quick_search_finds_the_batch_number_not_only_the_display_field(plant: Plant) -> None:
    publish_ncr_form(plant)
    add_records(plant)
    assert sorted(_products(_list(plant, "qc1", q="L2612"))) == ["阀体", "阀盖", "阀门😀"]    # the review: 0 rows
    assert _products(_list(plant, "qc1", q="l2612-02")) == ["阀体"]                          # any case
    assert _products(_list(plant, "qc1", q="阀门😀")) == ["阀门😀"]                         # the display field still
    assert _products(_list(plant, "qc1", q="砂眼")) == ["阀体"]                              # an option by its label
    assert _products(_list(plant, "qc1", q="Leak")) == ["阀盖"]                              # … in English too
    assert _products(_list(plant, "qc1", q="L2612", defect="xie_lou")) == ["阀盖"]           # with the filters
    assert _products(_list(plant, "qc1", q="%_")) == []                                      # wildcards are text
    assert _products(_list(plant, "qc1", q="' OR 1=1 --")) == []


def test_quick_search_keeps_the_row_scope_and_hidden_fields(plant: Plant) -> None:
    publish_ncr_form(plant)
    add_records(plant, "qc1")
    r = plant.client.post(f"/api/records/{FORM}", json={"product": "经理的", "pi_ci_hao": "L2612-99", "cost": 777},
                          headers=plant.h("qcm"))
    assert r.status_code == 201, r.text
    assert "经理的" not in _products(_list(plant, "qc1", q="L2612"))      # not her record: not found
    assert "经理的" in _products(_list(plant, "qcm", q="L2612-99"))
    assert _products(_list(plant, "qc1", q="777")) == []                   # a hidden field is never searched


def test_quick_search_is_bounded(plant: Plant) -> None:
    publish_ncr_form(plant)
    r = _list(plant, "qc1", q="L" * 101)
    assert r.status_code == 422 and "最多 100 个字符" in r.json()["message"]["zh-CN"], r.text
    assert _list(plant, "qc1", q="L" * 100).status_code == 200


def test_quick_search_looks_in_at_most_a_bounded_number_of_fields(plant: Plant) -> None:
    from mom.engines.records.query import MAX_SEARCH_FIELDS

    many = {**NCR_FORM, "name": "many_texts", "display_field": "t30", "permissions": [],
            "fields": [{"id": f"t{i}", "key": f"t{i}", "type": "text", "label": f"文本{i}"} for i in range(1, 31)]}
    r = plant.client.put("/api/forms/many_texts", json=many, headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    plant.client.post("/api/records/many_texts", json={"t30": "显示字段", "t29": "第二十九"}, headers=plant.h("admin"))
    found = plant.client.get("/api/records/many_texts", params={"q": "显示"}, headers=plant.h("admin")).json()["items"]
    assert len(found) == 1                                                      # the display field comes first
    assert MAX_SEARCH_FIELDS < 29
    assert plant.client.get("/api/records/many_texts", params={"q": "第二十九"}, headers=plant.h("admin")).json()["items"] == []


def test_the_list_says_when_the_read_scope_limits_it(plant: Plant) -> None:
    publish_ncr_form(plant)
    plant.client.post(f"/api/records/{FORM}", json={"product": "经理的"}, headers=plant.h("qcm"))
    r = _list(plant, "qc1")
    scope = r.json()["scope"]
    assert r.json()["items"] == [] and scope["kind"] == "own" and scope["limited"] is True
    assert scope["text"]["zh-CN"] == "只显示你创建的记录；如需查看全部记录，请联系表单管理员"
    assert "1" not in scope["text"]["zh-CN"]                                    # no count of what she can't see
    assert _list(plant, "qcm").json()["scope"] == {"kind": "all", "limited": False, "text": None}
    assert _list(plant, "admin").json()["scope"]["limited"] is False
    dept = {**NCR_FORM, "permissions": [{"role": "qc_inspector", "actions": ["read"], "scope": "department"}]}
    assert plant.client.put(f"/api/forms/{FORM}", json=dept, headers=plant.h("admin")).status_code == 200
    assert _list(plant, "qc1").json()["scope"]["text"]["zh-CN"].startswith("只显示你所在部门的记录")


def test_reports_and_dashboards_say_their_scope(plant: Plant) -> None:
    """The demo's 来料检验 is read by inspectors within their department, by the quality manager in full."""
    r = plant.client.get("/api/reports/iqc_by_supplier/data", headers=plant.h("qc1"))
    assert r.status_code == 200, r.text
    assert r.json()["scope"]["kind"] == "department" and r.json()["scope"]["text"]["zh-CN"].startswith("只显示你所在部门的记录")
    assert plant.client.get("/api/reports/iqc_by_supplier/data", headers=plant.h("qcm")).json()["scope"]["limited"] is False
    d = plant.client.get("/api/dashboards/quality_overview/data", headers=plant.h("qc1")).json()
    assert d["scope"]["kind"] == "department"
    assert all(w["scope"]["kind"] == "department" for w in d["widgets"] if w["type"] != "text")
    assert plant.client.get("/api/dashboards/quality_overview/data", headers=plant.h("qcm")).json()["scope"] is None
