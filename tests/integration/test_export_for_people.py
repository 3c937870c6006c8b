"""Issue 20 review #5: the Excel export a quality supervisor can hand to her manager.

The review's form 不合格品处理单 (text, batch number, integer, select, user, boolean, attachment and a
子表 缺陷明细) exported with ``layout=people`` (the web app's 导出 button): file and sheet named after the
form, labels as headers, option labels, 是/否, user names, file names, the sub-table on its own sheet;
hidden fields stay hidden; the data layout (scripts) is unchanged; the records' sheet imports back."""
from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote

import openpyxl

from tests.integration.wf_helpers import Plant

NCR_FORM = {
    "format": "mom.form/1", "name": "bu_he_ge_pin_chu_li_dan", "label": {"zh-CN": "不合格品处理单", "en": "Nonconformance"},
    "display_field": "product",
    "fields": [
        {"id": "a1", "key": "product", "type": "text", "label": {"zh-CN": "产品名称", "en": "Product"}},
        {"id": "a2", "key": "pi_ci_hao", "type": "text", "label": {"zh-CN": "炉批号", "en": "Heat lot"}},
        {"id": "a3", "key": "bad_qty", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defects"}},
        {"id": "a4", "key": "defect", "type": "select", "label": {"zh-CN": "缺陷类型", "en": "Defect"},
         "options": [{"value": "chi_cun_chao_cha", "label": {"zh-CN": "尺寸超差", "en": "Out of size"}},
                     {"value": "sha_yan", "label": {"zh-CN": "砂眼", "en": "Blowhole"}},
                     {"value": "xie_lou", "label": {"zh-CN": "泄漏", "en": "Leak"}}]},
        {"id": "a5", "key": "owner", "type": "user", "label": {"zh-CN": "责任人", "en": "Owner"}},
        {"id": "a6", "key": "urgent", "type": "boolean", "label": {"zh-CN": "加急", "en": "Urgent"}},
        {"id": "a7", "key": "photo", "type": "attachment", "label": {"zh-CN": "照片", "en": "Photo"}},
        {"id": "a8", "key": "cost", "type": "integer", "label": {"zh-CN": "损失金额", "en": "Cost"}},
        {"id": "a9", "key": "details", "type": "table", "label": {"zh-CN": "缺陷明细", "en": "Defect details"}, "fields": [
            {"id": "a9a", "key": "position", "type": "text", "label": {"zh-CN": "缺陷位置", "en": "Position"}},
            {"id": "a9b", "key": "count", "type": "integer", "label": {"zh-CN": "数量", "en": "Count"}}]},
    ],
    "permissions": [
        {"role": "qc_inspector", "actions": ["create", "read", "update", "export"], "scope": "own", "fields": {"cost": "hidden"}},
        {"role": "qc_manager", "actions": ["create", "read", "update", "export", "import"], "scope": "all"},
    ],
}
FORM = NCR_FORM["name"]


def publish_ncr_form(plant: Plant) -> None:
    r = plant.client.put(f"/api/forms/{FORM}", json=NCR_FORM, headers=plant.h("admin"))
    assert r.status_code == 200, r.text


def add_records(plant: Plant, user: str = "qc1") -> list[dict[str, Any]]:
    up = plant.client.post("/api/attachments", files={"file": ("阀体照片.png", b"\x89PNG photo", "image/png")}, headers=plant.h(user))
    assert up.status_code == 201, up.text
    docs = [
        {"product": "阀门😀", "pi_ci_hao": "L2612-01", "bad_qty": 12, "defect": "chi_cun_chao_cha", "owner": "qcm", "urgent": True,
         "photo": [up.json()["id"]], "details": [{"position": "法兰面", "count": 7}, {"position": "阀座", "count": 5}]},
        {"product": "阀体", "pi_ci_hao": "L2612-02", "bad_qty": 3, "defect": "sha_yan", "urgent": False},
        {"product": "阀盖", "pi_ci_hao": "L2612-03", "bad_qty": 8, "defect": "xie_lou",
         "details": [{"position": "密封面", "count": 8}]},
    ]
    out = []
    for d in docs:
        r = plant.client.post(f"/api/records/{FORM}", json=d, headers=plant.h(user))
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _book(r: Any) -> openpyxl.Workbook:
    assert r.status_code == 200, r.text
    return openpyxl.load_workbook(io.BytesIO(r.content))


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_people_export_is_named_labelled_and_has_the_sub_table(plant: Plant) -> None:
    publish_ncr_form(plant)
    recs = add_records(plant)
    r = plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people&sort=id", headers=plant.h("qcm"))
    cd = r.headers["content-disposition"]
    assert "filename*=UTF-8''" in cd and unquote(cd.split("filename*=UTF-8''")[1].split(";")[0]) == "不合格品处理单.xlsx"
    assert 'filename="bu_he_ge_pin_chu_li_dan.xlsx"' in cd          # plain fallback for old clients
    wb = _book(r)
    assert wb.sheetnames == ["不合格品处理单", "缺陷明细"]
    main = _rows(wb["不合格品处理单"])
    assert main[0] == ("编号", "产品名称", "炉批号", "不良数", "缺陷类型", "责任人", "加急", "照片", "损失金额")
    assert main[1] == (recs[0]["id"], "阀门😀", "L2612-01", 12, "尺寸超差", "质量经理老陈", "是", "阀体照片.png", None)
    assert main[2][4:7] == ("砂眼", None, "否")
    assert main[3][4] == "泄漏"
    sub = _rows(wb["缺陷明细"])
    assert sub[0] == ("所属记录编号", "产品名称", "缺陷位置", "数量")
    assert sub[1:] == [(recs[0]["id"], "阀门😀", "法兰面", 7), (recs[0]["id"], "阀门😀", "阀座", 5),
                       (recs[2]["id"], "阀盖", "密封面", 8)]


def test_people_export_in_english_and_as_csv(plant: Plant) -> None:
    publish_ncr_form(plant)
    add_records(plant)
    wb = _book(plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people&lang=en&sort=id", headers=plant.h("qcm")))
    assert wb.sheetnames == ["Nonconformance", "Defect details"]
    rows = _rows(wb["Nonconformance"])
    assert rows[0][:5] == ("No.", "Product", "Heat lot", "Defects", "Defect") and rows[1][4:7] == ("Out of size", "质量经理老陈", "Yes")
    r = plant.client.get(f"/api/records/{FORM}/export?format=csv&layout=people&sort=id", headers=plant.h("qcm"))
    assert r.status_code == 200 and unquote(r.headers["content-disposition"].split("''")[1].split(";")[0]) == "不合格品处理单.csv"
    text = r.content.decode("utf-8-sig").splitlines()
    assert text[0].startswith("编号,产品名称,炉批号") and ",尺寸超差,质量经理老陈,是," in text[1]


def test_people_export_keeps_permissions_hidden_fields_and_filters(plant: Plant) -> None:
    publish_ncr_form(plant)
    add_records(plant, "qc1")
    plant.client.post(f"/api/records/{FORM}", json={"product": "别人的", "pi_ci_hao": "Z1"}, headers=plant.h("qcm"))
    wb = _book(plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people&sort=id", headers=plant.h("qc1")))
    rows = _rows(wb["不合格品处理单"])
    assert "损失金额" not in rows[0]                              # hidden from inspectors
    assert [r[1] for r in rows[1:]] == ["阀门😀", "阀体", "阀盖"]   # own records only
    wb = _book(plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people&q=L2612-03", headers=plant.h("qcm")))
    assert [r[1] for r in _rows(wb.worksheets[0])[1:]] == ["阀盖"] and [r[2] for r in _rows(wb.worksheets[1])[1:]] == ["密封面"]
    assert plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people", headers=plant.h("buyer")).status_code == 403
    bad = plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=fancy", headers=plant.h("qcm"))
    assert bad.status_code == 422 and "layout" in bad.json()["message"]["zh-CN"]


def test_data_layout_for_scripts_is_unchanged(plant: Plant) -> None:
    publish_ncr_form(plant)
    add_records(plant)
    r = plant.client.get(f"/api/records/{FORM}/export?format=xlsx&header=key&sort=id", headers=plant.h("qcm"))
    assert r.headers["content-disposition"] == 'attachment; filename="bu_he_ge_pin_chu_li_dan.xlsx"'
    wb = _book(r)
    assert wb.sheetnames == [FORM]
    rows = _rows(wb.active)
    assert rows[0][:5] == ("id", "product", "pi_ci_hao", "bad_qty", "defect") and rows[1][4] == "chi_cun_chao_cha"


def test_the_people_sheet_imports_back(plant: Plant) -> None:
    """Labels, option labels, 是/否 and user names read back as values; the attachment column (file names)
    is dropped by the person before importing, as docs/forms.md says."""
    publish_ncr_form(plant)
    add_records(plant)
    wb = _book(plant.client.get(f"/api/records/{FORM}/export?format=xlsx&layout=people&sort=id", headers=plant.h("qcm")))
    ws = wb["不合格品处理单"]
    ws.delete_cols(8)                               # 照片
    buf = io.BytesIO()
    wb.save(buf)
    r = plant.client.post(f"/api/records/{FORM}/import", headers=plant.h("qcm"), files={"file": ("back.xlsx", buf.getvalue())})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3
    got = plant.client.get(f"/api/records/{FORM}?sort=-id&limit=3", headers=plant.h("qcm")).json()["items"]
    last = got[2]
    assert (last["product"], last["defect"], last["urgent"], last["bad_qty"]) == ("阀门😀", "chi_cun_chao_cha", True, 12)
    assert last["_display"]["owner"] == "质量经理老陈"
