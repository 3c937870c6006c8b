"""Import errors a quality supervisor can act on (issue 16 review): a damaged .xlsx is explained in
Chinese without Python's exception text, and a reference that names no record says to check the
value in the file (not "pick from the list", which an imported row has not)."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def upload(client: TestClient, h: dict, content: bytes, name: str, form: str, **data: str) -> Any:
    return client.post(f"/api/records/{form}/import", headers=h, files={"file": (name, content)}, data=data)


def test_a_damaged_xlsx_is_explained_in_chinese_without_the_exception_text(client: TestClient, demo_forms: dict) -> None:
    r = upload(client, demo_forms, b"PK\x03\x04" + bytes(100), "broken.xlsx", "supplier")
    body = r.json()
    assert r.status_code == 422, r.text
    zh = body["message"]["zh-CN"]
    assert "可能已损坏或不是 Excel 文件" in zh and ".xlsx" in zh, zh
    assert "zip" not in zh.lower() and "File is not" not in zh
    assert all("zip" not in p["message"]["zh-CN"].lower() for p in body["problems"])


def test_an_imported_reference_that_names_no_record_says_to_check_the_file(client: TestClient, demo_forms: dict) -> None:
    csv = "supplier,material,lot_no,qty,result\nSUP-404,MAT-1001,L-1,5,pass\n".encode()
    r = upload(client, demo_forms, csv, "iqc.csv", "iqc_inspection")
    text = r.text
    assert r.status_code == 422, text
    assert "请检查文件中的这个值" in text and "SUP-404" in text, text
    assert "请从列表中选择" not in text
    # the same value through the API keeps the form's wording (a list to pick from)
    r = client.post("/api/records/iqc_inspection", json={"supplier": "SUP-404", "lot_no": "L-2", "qty": 5}, headers=demo_forms)
    assert r.status_code == 422 and "请从列表中选择" in r.text, r.text
