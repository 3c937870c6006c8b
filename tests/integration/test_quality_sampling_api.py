"""GET /api/quality/sampling-plan: any signed-in user gets the GB/T 2828.1 plan with zh/en notes;
a bad parameter answers 422 naming it. Worked example: lot 125, level III, AQL 1.0, reduced →
G→H→J, n=32, 1/2 (https://www.aqlinspectorsrule.com/Example-3--Differences-between-ANSI-and-ISO-versions_ep_48-1.html)."""
from __future__ import annotations

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login

URL = "/api/quality/sampling-plan"


def test_a_signed_in_inspector_reads_a_plan_and_bad_parameters_are_named(client, engine):
    with write_tx(engine) as conn:
        auth.create_user(conn, username="inspector", password_hash=fixture_hash("insp-pass-1"), is_admin=False)
    who = login(client, "inspector", "insp-pass-1")

    assert client.get(URL, params={"lot_size": 125, "aql": "1.0"}).status_code == 401

    r = client.get(URL, params={"lot_size": 125, "aql": "1.0", "level": "III", "severity": "reduced"}, headers=who)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["code_letter"], body["sample_size"], body["ac"], body["re"]) == ("J", 32, 1, 2)
    assert body["resolved_from"] == "G→H→J" and body["hundred_percent"] is False
    assert "放宽检验" in body["note_zh"] and "reduced" in body["note_en"]

    r = client.get(URL, params={"lot_size": 8, "aql": "0.65"}, headers=who)      # n=20 > 8: 100 %
    assert r.status_code == 200 and r.json()["hundred_percent"] is True and r.json()["sample_size"] == 8

    for params, field in [({"lot_size": 500, "aql": "2.0"}, "aql"), ({"lot_size": 1, "aql": "1.0"}, "lot_size"),
                          ({"lot_size": 500, "aql": "1.0", "level": "IV"}, "level"),
                          ({"lot_size": 500, "aql": "1.0", "severity": "strict"}, "severity"),
                          ({"lot_size": "many", "aql": "1.0"}, "lot_size"), ({"aql": "1.0"}, "lot_size")]:
        r = client.get(URL, params=params, headers=who)
        assert r.status_code == 422, (params, r.text)
        assert [p["path"] for p in r.json()["problems"]] == [f"/{field}"], r.text
        assert r.json()["message"]["zh-CN"]
