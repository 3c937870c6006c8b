"""Report drafts (POST /api/reports/validate and /preview) are any signed-in user's to send: they
answer only about forms the caller may read, name users only to administrators, and leave nothing
behind in the process (the spec cache keeps published reports only, within its budgets). Runs on
SQLite and PostgreSQL."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import Ctx
from mom.engines.reports import spec
from mom.engines.reports.build import build
from tests.conftest import login

HIDDEN = {"format": "mom.report/1", "name": "leak", "source": "iqc_inspection",
          "measures": [{"key": "n", "agg": "sum", "field": "unit_cos"}]}
PROBE = {"format": "mom.form/1", "name": "probe", "fields": [
    {"id": "p1", "key": "lot", "type": "reference", "form": "iqc_inspection"}],
    "permissions": [{"role": "*", "actions": ["read"]}]}


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty spec cache for this test (the process's own is restored after it)."""
    monkeypatch.setattr(spec, "_cache", OrderedDict())
    monkeypatch.setattr(spec, "_cached_bytes", 0)


def test_validate_and_preview_refuse_a_form_the_caller_may_not_read_before_naming_its_fields(client, plant) -> None:
    admin, buyer = login(client, "admin", "admin123"), login(client, "buyer", "buyerpass123")
    for path, body in (("/api/reports/validate", HIDDEN), ("/api/reports/preview", {"definition": HIDDEN})):
        r = client.post(path, json=body, headers=buyer)
        assert r.status_code == 403 and r.json()["code"] == "access_denied", r.text
        assert "unit_cost" not in r.text
    # a form reached along a field path is checked too: the buyer reads probe, not iqc_inspection
    assert client.put("/api/forms/probe", json=PROBE, headers=admin).status_code == 200
    through = {"format": "mom.report/1", "name": "leak", "source": "probe",
               "measures": [{"key": "n", "agg": "sum", "field": "lot.unit_cos"}]}
    for path, body in (("/api/reports/validate", through), ("/api/reports/preview", {"definition": through})):
        r = client.post(path, json=body, headers=buyer)
        assert r.status_code == 403 and "unit_cost" not in r.text, r.text
    # who may read the form still gets every problem, with suggestions
    r = client.post("/api/reports/validate", json=HIDDEN, headers=admin)
    assert r.status_code == 422 and "unit_cost" in r.text
    # an unknown source form is still a problem at /source
    r = client.post("/api/reports/validate", json={**HIDDEN, "source": "iqc_inspectio"}, headers=buyer)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/source"
    assert "iqc_inspection" not in r.text                 # no suggestion of a form the buyer is not shown
    r = client.post("/api/reports/validate", json={**HIDDEN, "source": "iqc_inspectio"}, headers=admin)
    assert r.status_code == 422 and "iqc_inspection" in r.text


def test_schedule_recipients_are_checked_for_administrators_only(client, plant) -> None:
    admin, planner = login(client, "admin", "admin123"), login(client, "planner", "plannerpass123")
    draft = {"format": "mom.report/1", "name": "weekly", "source": "supplier", "measures": [{"key": "n", "agg": "count"}],
             "schedules": [{"cron": "0 8 * * 1", "to": {"users": ["admn"], "roles": ["qc_managr"]}, "run_as": "qcn"}]}
    r = client.post("/api/reports/validate", json=draft, headers=planner)
    assert r.status_code == 200, r.text
    assert "\"admin\"" not in r.text and "qc_manager" not in r.text and "qc1" not in r.text
    assert [n["code"] for n in r.json()["notes"]] == ["unchecked"]
    bad_cron = {**draft, "schedules": [{**draft["schedules"][0], "cron": "every monday"}]}
    r = client.post("/api/reports/validate", json=bad_cron, headers=planner)
    assert r.status_code == 422 and [p["path"] for p in r.json()["problems"]] == ["/schedules/0/cron"]
    r = client.post("/api/reports/validate", json=draft, headers=admin)
    assert r.status_code == 422
    assert {p["path"] for p in r.json()["problems"]} == {"/schedules/0/to/users/0", "/schedules/0/to/roles/0", "/schedules/0/run_as"}


def test_drafts_are_not_cached_published_reports_are(client, plant, fresh_cache) -> None:
    admin = login(client, "admin", "admin123")
    draft = {"format": "mom.report/1", "name": "by_result", "source": "iqc_inspection",
             "dimensions": [{"key": "result", "field": "result"}], "measures": [{"key": "lots", "agg": "count"}]}
    assert client.post("/api/reports/validate", json=draft, headers=admin).status_code == 200
    assert client.post("/api/reports/preview", json={"definition": draft}, headers=admin).status_code == 200
    assert spec.cache_size() == (0, 0)
    assert client.put("/api/reports/by_result", json=draft, headers=admin).status_code == 200
    assert spec.cache_size() == (0, 0)                 # publishing validates: a draft until it is run
    for _ in range(2):
        assert client.get("/api/reports/by_result/data", headers=admin).status_code == 200
    entries, size = spec.cache_size()
    assert entries == 1 and 0 < size < 2000


def test_the_spec_cache_keeps_to_its_entry_and_byte_budgets(engine, plant, fresh_cache, monkeypatch) -> None:
    forms = FormRegistry()

    def report(i: int, pad: int = 0) -> dict[str, Any]:
        return {"format": "mom.report/1", "name": f"r{i}", "source": "supplier", "label": "x" * pad,
                "measures": [{"key": "n", "agg": "count"}]}

    monkeypatch.setattr(spec, "CACHE_ENTRIES", 5)
    with engine.connect() as conn:
        for i in range(12):
            build(conn, forms, Ctx.system(), report(i), {})
        assert spec.cache_size()[0] == 5
        monkeypatch.setattr(spec, "CACHE_ENTRIES", 100)
        monkeypatch.setattr(spec, "CACHE_BYTES", 3000)
        for i in range(12):
            build(conn, forms, Ctx.system(), report(100 + i, pad=150), {})
        entries, size = spec.cache_size()
        assert size <= 3000 and 5 <= entries < 17
        monkeypatch.setattr(spec, "CACHE_ENTRY_BYTES", 1000)
        build(conn, forms, Ctx.system(), report(999, pad=1200), {})    # too large to keep
        assert spec.cache_size() == (entries, size)
        build(conn, forms, Ctx.system(), report(998, pad=100), {}, cache=False)
        assert spec.cache_size() == (entries, size)


def test_parameter_options_and_schedule_lists_are_bounded_by_the_schema(client, plant) -> None:
    buyer = login(client, "buyer", "buyerpass123")
    draft = {"format": "mom.report/1", "name": "big", "source": "supplier", "measures": [{"key": "n", "agg": "count"}],
             "params": [{"key": "p", "type": "select", "options": [f"x{i}" for i in range(501)]}]}
    r = client.post("/api/reports/validate", json=draft, headers=buyer)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/params/0/options"
    draft = {**draft, "params": [], "schedules": [{"cron": "0 8 * * 1", "to": {"users": ["u"] * 201}}]}
    r = client.post("/api/reports/validate", json=draft, headers=buyer)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/schedules/0/to/users"
