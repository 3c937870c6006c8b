"""CSV/XLSX import with per-row errors, all-or-nothing vs skip, upsert re-runs; exports."""
from __future__ import annotations

import csv
import io

import openpyxl
from fastapi.testclient import TestClient

GOOD = "供应商编码,供应商名称,等级\nSUP-100,甲厂,A 级\nSUP-101,乙厂,B\n"
MIXED = "code,name,grade\nSUP-200,丙厂,A\nbad code,丁厂,A\nSUP-202,,Z\nSUP-203,戊厂,C\n"


def upload(client: TestClient, h: dict, form: str, content: bytes, name: str = "x.csv", **data: str) -> object:
    return client.post(f"/api/records/{form}/import", headers=h, files={"file": (name, content)}, data=data)


def count(client: TestClient, h: dict, form: str) -> int:
    return client.get(f"/api/records/{form}?count=1&limit=1", headers=h).json()["total"]


def test_import_by_labels_and_option_labels(client: TestClient, demo_forms: dict) -> None:
    r = upload(client, demo_forms, "supplier", GOOD.encode("utf-8-sig"))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    assert client.get("/api/records/supplier?code=SUP-100", headers=demo_forms).json()["items"][0]["grade"] == "A"


def test_all_mode_writes_nothing_and_names_rows(client: TestClient, demo_forms: dict) -> None:
    before = count(client, demo_forms, "supplier")
    r = upload(client, demo_forms, "supplier", MIXED.encode())
    assert r.status_code == 422
    errors = r.json()["detail"]["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(3, "code"), (4, "name"), (4, "grade")}
    assert count(client, demo_forms, "supplier") == before


def test_skip_mode_writes_good_rows_and_upsert_rerun_does_not_duplicate(client: TestClient, demo_forms: dict) -> None:
    before = count(client, demo_forms, "supplier")
    r = upload(client, demo_forms, "supplier", MIXED.encode(), mode="skip", key="code").json()
    assert (r["created"], r["skipped"]) == (2, 2)
    again = upload(client, demo_forms, "supplier", MIXED.replace("丙厂", "丙厂二").encode(), mode="skip", key="code").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 1)
    assert count(client, demo_forms, "supplier") == before + 2


def test_unknown_header_is_refused(client: TestClient, demo_forms: dict) -> None:
    r = upload(client, demo_forms, "supplier", "code,nmae\nSUP-9,x\n".encode())
    assert r.status_code == 422 and 'did you mean "name"' in r.json()["problems"][0]["message"]["en"]


def test_xlsx_round_trip_with_references(client: TestClient, demo_forms: dict) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["供应商", "物料", "批次号", "来料数量", "检验结论", "检验日期"])
    ws.append(["瑞安标准件厂", "MAT-2", "X1", 50, "合格", "2026-11-20"])
    ws.append(["温州精密铸造", "MAT-1", "X2", 12.5, "pass", "2026/11/21"])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, demo_forms, "iqc_inspection", buf.getvalue(), name="iqc.xlsx")
    assert r.status_code == 200, r.text
    out = client.get("/api/records/iqc_inspection/export?format=xlsx&sort=lot_no", headers=demo_forms)
    ws2 = openpyxl.load_workbook(io.BytesIO(out.content)).active
    rows = list(ws2.iter_rows(values_only=True))
    assert rows[0][1] == "检验单号" and rows[1][2] == "瑞安标准件厂" and rows[2][5] == 12.5


def test_csv_export_has_bom_and_chinese(client: TestClient, demo_forms: dict) -> None:
    r = client.get("/api/records/supplier/export", headers=demo_forms)
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "供应商编码", "供应商名称"] and rows[1][2] == "温州精密铸造"


def test_references_by_id_or_display_text_in_one_file(client: TestClient, demo_forms: dict) -> None:
    sup = client.get("/api/records/supplier?code=SUP-002", headers=demo_forms).json()["items"][0]["id"]
    content = f"supplier,material,lot_no,qty\n{sup},MAT-1,A,1\n温州精密铸造,2,B,2\n999,MAT-1,C,3\n".encode()
    r = upload(client, demo_forms, "iqc_inspection", content, mode="skip").json()
    assert (r["created"], r["skipped"]) == (2, 1)
    assert r["errors"][0]["row"] == 4 and r["errors"][0]["field"] == "supplier"
