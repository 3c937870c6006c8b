"""The publish plan's blockers (issue 20 review #1 and #13): POST /api/forms/plan lists what keeps a plan
from being published, in a supervisor's words with the key of the field to change; a required select
added to a form with records is published once its default is one of its options, and the old records
get it; a removed field is said to be 停用 (retired: data kept), the word the confirmation uses.
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

FORM: dict[str, Any] = {"format": "mom.form/1", "name": "ncr_plan", "label": {"zh-CN": "不合格品处理单"},
                        "fields": [{"id": "f1", "key": "product", "type": "text", "label": {"zh-CN": "产品名称"}},
                                   {"id": "f2", "key": "found_on", "type": "date", "label": {"zh-CN": "发现日期"}}]}
HANDLING = {"id": "f3", "key": "handling", "type": "select", "label": {"zh-CN": "处理方式"}, "required": True,
            "options": [{"value": "fan_gong", "label": {"zh-CN": "返工"}}, {"value": "bao_fei", "label": {"zh-CN": "报废"}}]}


def _plan(client: Any, admin: dict[str, str], definition: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/forms/plan", headers=admin, json=definition)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_required_select_waits_for_its_default_then_fills_old_records(client, admin) -> None:
    assert client.put("/api/forms/ncr_plan", headers=admin, json=FORM).status_code == 200
    for p in ("阀门A", "阀门B"):
        assert client.post("/api/records/ncr_plan", headers=admin, json={"product": p}).status_code in (200, 201)
    changed = {**FORM, "fields": [FORM["fields"][0], HANDLING]}            # 发现日期 removed, 处理方式 added
    plan = _plan(client, admin, changed)
    assert plan["blocked"] is True
    assert plan["blockers"] == [{"zh-CN": "必填字段「处理方式」不能直接加到已有 2 条记录的表单：请先给它一个默认值，或先不设为必填",
                                 "en": "required field “处理方式” cannot be added to a form with 2 records: give it a default, "
                                       "or make it optional for now", "field": "handling", "kind": "add_column"}]
    words = [w["zh-CN"] for w in plan["words"]]
    assert "停用字段「发现日期」：已有 2 条记录的该字段数据将隐藏并保留，可随时恢复" in words
    assert not any("删除" in w or "default" in w or "backfill" in w for w in words), words
    # the operation's own sentence (详情) names no raw property either
    assert all("backfill" not in op["message"]["zh-CN"] for op in plan["operations"]), plan["operations"]
    # the default is one of the options: nothing blocks, and the old records get it
    ok = {**changed, "fields": [FORM["fields"][0], {**HANDLING, "default": "fan_gong"}]}
    plan = _plan(client, admin, ok)
    assert plan["blocked"] is False and plan["blockers"] == []
    assert client.put("/api/forms/ncr_plan", headers=admin, json=ok).status_code == 200
    items = client.get("/api/records/ncr_plan", headers=admin).json()["items"]
    assert [r["handling"] for r in items] == ["fan_gong", "fan_gong"]
