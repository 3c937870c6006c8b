"""The designers' plain-language side (issue 20 items 1 and 5): keys made from Chinese labels
(POST /api/designer/keys) and the publish plan in a supervisor's words (POST /api/forms/plan -> words).
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

LABELS = ["物料编码", "批次号", "检验数量", "不良数", "判定", "检验员", "备注"]
TYPES = ["text", "text", "integer", "integer", "select", "user", "text"]


def _keys(client: Any, admin: dict[str, str], kind: str, labels: list[str], **extra: Any) -> list[str]:
    r = client.post("/api/designer/keys", headers=admin, json={"kind": kind, "labels": labels, **extra})
    assert r.status_code == 200, r.text
    return r.json()["keys"]


def _form(client: Any, admin: dict[str, str], n: int = 6) -> dict[str, Any]:
    name = _keys(client, admin, "form", ["来料检验记录"])[0]
    keys = _keys(client, admin, "field", LABELS[:n])
    values = _keys(client, admin, "option", ["合格", "不合格"])
    fields = []
    for i, (label, key, typ) in enumerate(zip(LABELS[:n], keys, TYPES[:n])):
        f: dict[str, Any] = {"id": f"f{i}", "key": key, "type": typ, "label": {"zh-CN": label, "en": label}}
        if typ == "select":
            f["options"] = [{"value": v, "label": {"zh-CN": lab, "en": lab}} for v, lab in zip(values, ["合格", "不合格"])]
        fields.append(f)
    return {"format": "mom.form/1", "name": name, "label": {"zh-CN": "来料检验记录", "en": "来料检验记录"}, "fields": fields}


def test_keys_from_chinese_labels_avoid_published_and_reserved_names(client, admin) -> None:
    form = _form(client, admin)
    assert form["name"] == "lai_liao_jian_yan_ji_lu"
    assert [f["key"] for f in form["fields"]] == ["wu_liao_bian_ma", "pi_ci_hao", "jian_yan_shu_liang", "bu_liang_shu",
                                                 "pan_ding", "jian_yan_yuan"]
    assert form["fields"][4]["options"][1]["value"] == "bu_he_ge"
    assert client.put(f"/api/forms/{form['name']}", headers=admin, json=form).status_code == 200
    # a second form of the same label gets another name; a field labelled like a system column another key
    assert _keys(client, admin, "form", ["来料检验记录"]) == ["lai_liao_jian_yan_ji_lu_2"]
    assert _keys(client, admin, "field", ["ID", "批次号", "序号"], taken=["pi_ci_hao"]) == ["id_2", "pi_ci_hao_2", "xu_hao"]
    assert _keys(client, admin, "field", ["序号"], in_table=True) == ["xu_hao"]
    assert _keys(client, admin, "form", ["mom 表"]) == ["form_mom_biao"]     # the platform's own prefix


def test_keys_are_bounded_and_need_a_signed_in_user(client, admin) -> None:
    assert client.post("/api/designer/keys", json={"kind": "form", "labels": ["表"]}).status_code == 401
    r = client.post("/api/designer/keys", headers=admin, json={"kind": "field", "labels": ["字"] * 501})
    assert r.status_code == 422
    r = client.post("/api/designer/keys", headers=admin, json={"kind": "table", "labels": ["字"]})
    assert r.status_code == 422


def test_the_publish_plan_in_words(client, admin) -> None:
    form = _form(client, admin, n=7)
    plan = client.post("/api/forms/plan", headers=admin, json=form).json()
    words = [w["zh-CN"] for w in plan["words"]]
    assert words == ["新建表单「来料检验记录」，7 个字段：物料编码、批次号、检验数量、不良数、判定、检验员、备注"]
    assert not any("ix_" in w or "row_version" in w for w in words)
    assert any("row_version" in op["message"]["zh-CN"] for op in plan["operations"])   # the technical plan, for 详情
    assert client.put(f"/api/forms/{form['name']}", headers=admin, json=form).status_code == 200
    r = client.post(f"/api/records/{form['name']}", headers=admin,
                    json=[{"wu_liao_bian_ma": "M1", "bei_zhu": "x"}, {"wu_liao_bian_ma": "M2"}])
    assert r.status_code == 201, r.text
    # 批次号 becomes 炉批号 (same key), 备注 goes, 判定 is hidden
    form["fields"][1]["label"] = {"zh-CN": "炉批号", "en": "炉批号"}
    form["fields"][4]["hidden"] = True
    form["fields"] = form["fields"][:6]
    plan = client.post("/api/forms/plan", headers=admin, json=form).json()
    words = [w["zh-CN"] for w in plan["words"]]
    assert "字段「批次号」改名为「炉批号」，数据保留" in words
    assert "停用字段「备注」：已有 2 条记录的该字段数据将隐藏并保留，可随时恢复" in words
    assert "字段「判定」的设置有变化：隐藏" in words
    assert all("pi_ci_hao" not in w and "bei_zhu" not in w for w in words), words


def test_a_blocked_step_says_what_to_do(client, admin) -> None:
    form = _form(client, admin)
    assert client.put(f"/api/forms/{form['name']}", headers=admin, json=form).status_code == 200
    assert client.post(f"/api/records/{form['name']}", headers=admin, json={"wu_liao_bian_ma": "M1"}).status_code == 201
    form["fields"][1]["required"] = True                                   # 批次号 is empty in that record
    form["fields"].append({"id": "f9", "key": "lu_hao", "type": "text", "required": True, "label": {"zh-CN": "炉号", "en": "炉号"}})
    plan = client.post("/api/forms/plan", headers=admin, json=form).json()
    assert plan["blocked"]
    words = [w["zh-CN"] for w in plan["words"]]
    assert "字段「批次号」改为必填，但有 1 条记录没有填：请先给它一个默认值，或先补齐这些记录" in words
    assert "必填字段「炉号」不能直接加到已有 1 条记录的表单：请先给它一个默认值，或先不设为必填" in words
    assert not any("backfill" in w or "lu_hao" in w for w in words)
