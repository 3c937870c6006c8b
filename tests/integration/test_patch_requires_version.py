"""A PATCH must say which version of the record it was based on (issue 16, item 6): without
row_version or If-Match it gets 428 and writes nothing, instead of silently overwriting someone's change."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def new_iqc(client: TestClient, h: dict) -> dict:
    r = client.post("/api/records/iqc_inspection", headers=h, json={
        "supplier": "温州精密铸造", "material": "MAT-1", "lot_no": "L-1", "qty": 100, "result": "pass"})
    assert r.status_code == 201, r.text
    return r.json()


def test_patch_without_version_is_refused_with_428_and_writes_nothing(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    for body in ({"qty": 7}, {"qty": 7, "row_version": None}):
        r = client.patch(url, json=body, headers=demo_forms)
        assert r.status_code == 428, r.text
        err = r.json()
        assert err["code"] == "precondition_required"
        assert "row_version" in err["message"]["zh-CN"] and "If-Match" in err["message"]["en"]
        assert err["problems"][0]["path"] == "/row_version"
    after = client.get(url, headers=demo_forms).json()
    assert after["qty"] == 100 and after["row_version"] == rec["row_version"]
    assert [a["action"] for a in client.get(url + "/audit", headers=demo_forms).json()] == ["create"]


def test_patch_with_version_in_body_or_if_match_works_and_stale_gets_409(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    r = client.patch(url, json={"qty": 200, "row_version": rec["row_version"]}, headers=demo_forms)
    assert r.status_code == 200 and r.json()["qty"] == 200
    v = r.json()["row_version"]
    r = client.patch(url, json={"qty": 300}, headers={**demo_forms, "If-Match": f'"{v}"'})
    assert r.status_code == 200 and r.json()["qty"] == 300
    r = client.patch(url, json={"qty": 400}, headers={**demo_forms, "If-Match": f'W/"{v + 1}"'})   # weak form too
    assert r.status_code == 200 and r.json()["qty"] == 400
    r = client.patch(url, json={"qty": 1}, headers={**demo_forms, "If-Match": f'"{v}"'})           # stale
    assert r.status_code == 409 and client.get(url, headers=demo_forms).json()["qty"] == 400
    r = client.patch(url, json={"qty": 1}, headers={**demo_forms, "If-Match": "abc"})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/If-Match"


def test_if_match_star_is_an_explicit_overwrite(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    r = client.patch(url, json={"qty": 5}, headers={**demo_forms, "If-Match": "*"})
    assert r.status_code == 200 and r.json()["qty"] == 5


@pytest.fixture
def relaxed(settings: Settings, engine: sa.engine.Engine) -> Iterator[TestClient]:
    """The same database served with MOM_REQUIRE_ROW_VERSION=false (an integration that overwrites)."""
    app = create_app(settings.model_copy(update={"require_row_version": False}), engine, migrate=False)
    with TestClient(app) as c:
        yield c


def test_setting_relaxes_the_precondition_for_integrations(client: TestClient, demo_forms: dict,
                                                           relaxed: TestClient) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    r = relaxed.patch(url, json={"qty": 9}, headers=demo_forms)
    assert r.status_code == 200 and r.json()["qty"] == 9
    r = relaxed.patch(url, json={"qty": 10, "row_version": rec["row_version"]}, headers=demo_forms)   # a version is still checked
    assert r.status_code == 409


def test_the_web_app_sends_the_version_with_every_patch() -> None:
    """Every PATCH the web app makes (ui/src) carries row_version, so users never meet the 428."""
    calls = []
    for path in (ROOT / "ui" / "src").rglob("*.*"):
        if path.suffix in (".vue", ".js"):
            text = path.read_text(encoding="utf-8")
            calls += [(path.name, m.group(0)) for m in re.finditer(r"\bpatch\((?!path)[^\n]*", text)]
    calls = [(name, line) for name, line in calls if "/api/records/" in line]   # records carry versions; a department does not
    assert calls, "no PATCH of a record found in ui/src: update this test"
    assert all("row_version" in line for _, line in calls), calls
