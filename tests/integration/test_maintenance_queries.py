"""Odd queries to /api/maintenance/* (issue 23 review): a date the calendar cannot carry a week further
(``?start=0001-01-01``, ``9999-12-25``) or a machine "number" Python reads as a digit (``²``) answered 500.
Each is now a 422 naming the parameter in Chinese first, with the range it accepts (1970–2200, as the OEE
periods); the edges of that range still answer the board."""
from __future__ import annotations

import urllib.parse

import pytest

from tests.integration.test_maintenance_orders import Plant


@pytest.fixture
def mw(core_pack, engine, client) -> Plant:  # type: ignore[no-untyped-def]
    return Plant(client, engine)


def _refused(mw: Plant, path: str) -> dict:
    r = mw.client.get(path, headers=mw.h("mgr1"))
    assert r.status_code == 422, (path, r.status_code, r.text)
    return r.json()


def test_dates_out_of_the_calendars_range_are_refused_naming_the_field(mw: Plant) -> None:
    for value in ("0001-01-01", "9999-12-25", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31", "2201-01-01"):
        got = _refused(mw, "/api/maintenance/board?start=" + urllib.parse.quote(value))
        zh = got["message"]["zh-CN"]
        assert zh.startswith("开始日期") and "超出范围" in zh and "1970-01-01" in zh and "2200-12-31" in zh, zh
        assert "start" in got["message"]["en"] and "1970" in got["message"]["en"]
        assert [p["path"] for p in got["problems"]] == ["/start"]
        for name, zh_name in (("from", "开始日期"), ("to", "结束日期")):
            got = _refused(mw, f"/api/maintenance/reliability?{name}=" + urllib.parse.quote(value))
            assert got["message"]["zh-CN"].startswith(zh_name) and "超出范围" in got["message"]["zh-CN"], (name, value, got)
            assert [p["path"] for p in got["problems"]] == [f"/{name}"]
    # the edges of the range still show their weeks
    first = mw.get("/api/maintenance/board?start=1970-01-01&weeks=12", who="mgr1")
    assert first["weeks"][0]["start"] == "1969-12-29"             # 1970-01-01 is a Thursday: its week's Monday
    last = mw.get("/api/maintenance/board?start=2200-12-31&weeks=12", who="mgr1")
    assert last["weeks"][0]["start"] == "2200-12-29" and len(last["weeks"]) == 12
    assert mw.get("/api/maintenance/board?start=2026-12-01T08:00:00Z", who="mgr1")["weeks"][0]["start"] == "2026-11-30"
    assert mw.get("/api/maintenance/reliability?from=1970-01-01&to=1970-02-01", who="mgr1")["machines"]


def test_numbers_that_are_no_id_or_out_of_range_name_the_field(mw: Plant) -> None:
    for value in ("²", "99999999999999999999", "1e308"):          # "²" is a digit to Python, not a machine id
        got = _refused(mw, "/api/maintenance/reliability?machine=" + urllib.parse.quote(value))
        assert "没有设备" in got["message"]["zh-CN"] and [p["path"] for p in got["problems"]] == ["/machine"]
    weeks = _refused(mw, "/api/maintenance/board?weeks=13")
    assert "weeks" in weeks["message"]["zh-CN"] and "12" in weeks["message"]["zh-CN"]
    machine = _refused(mw, "/api/maintenance/orders?machine=99999999999999999999")
    assert [p["path"] for p in machine["problems"]] == ["/machine"]
    for days in (-1, 367, 10**30, 1.5, True, "7"):
        r = mw.client.post("/api/maintenance/pm/run", json={"days": days}, headers=mw.h("mgr1"))
        assert r.status_code == 422 and "提前天数" in r.json()["message"]["zh-CN"], (days, r.text)
        assert [p["path"] for p in r.json()["problems"]] == ["/days"]
