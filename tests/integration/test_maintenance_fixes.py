"""Equipment (issue 23) leftovers: issuing spare parts to a maintenance order that does not exist is a 404 in
words (it was a 422), and `mom maintenance reliability --from/--to` reads its dates as the plant's days
(Asia/Shanghai), not UTC's — a breakdown at 01:00 plant time on 1 December belongs to 1 December."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from mom.engines.maintenance import repair
from mom.engines.records import service as S
from mom.platform.settings import get_settings
from tests.integration.test_maintenance_orders import Plant

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def mw(core_pack, engine, client) -> Plant:  # type: ignore[no-untyped-def]
    return Plant(client, engine)


def test_issuing_parts_to_a_missing_order_is_404_in_words(mw: Plant) -> None:
    r = mw.client.post("/api/maintenance/orders/987654/issue-parts", headers=mw.h("tech1"))
    assert r.status_code == 404, r.text
    msg = r.json()["message"]
    assert "没有编号为 987654 的维修保养工单" in msg["zh-CN"] and "刷新" in msg["zh-CN"]
    assert "no maintenance order 987654" in msg["en"]
    # who may not update orders learns nothing of which exist: the same refusal for a missing and a real one
    r = mw.client.post("/api/maintenance/orders/987654/issue-parts", headers=mw.h("op1"))
    assert r.status_code == 403 and "987654" not in r.text


def _breakdown(mw: Plant, start: dt.datetime, hours: int) -> None:
    cnc = mw.machine["CNC-2"]
    cause = mw.find("failure_cause", code="F01")[0]["id"]
    code = mw.at(start, lambda conn, ctx: repair.open_repair_order(
        conn, mw.forms, ctx, machine_id=cnc, title_zh="故障停机", title_en="breakdown", source="manual", ref=start.isoformat()))
    oid = mw.order(code)["id"]
    end = start + dt.timedelta(hours=hours)
    for key, patch in (("start", {"status": "in_repair"}), ("finish", {"status": "done", "failure_cause": cause})):
        mw.at(end, lambda conn, ctx, k=key, p=patch: S.update_record(
            conn=conn, registry=mw.forms, ctx=ctx, form="maintenance_order", record_id=oid, patch=p, transition=k))


def _cnc2(cli: Any, *args: str) -> dict[str, Any]:
    out = cli("maintenance", "reliability", "--machine", "CNC-2", "--json", *args)
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    return {"from": got["from"], "to": got["to"], **got["machines"][0]}


def test_reliability_cli_reads_the_plants_days(mw: Plant, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOM_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    # 2026-12-01 01:00–03:00 in Shanghai = 30 November 17:00–19:00 UTC: a failure of 1 December for the plant
    _breakdown(mw, dt.datetime(2026, 12, 1, 1, tzinfo=SH), 2)
    day = _cnc2(cli, "--from", "2026-12-01", "--to", "2026-12-02")
    assert day["from"] == "2026-12-01T00:00:00+08:00" and day["to"] == "2026-12-02T00:00:00+08:00"
    assert day["failures"] == 1 and day["downtime_h"] == pytest.approx(2.0) and day["mttr_h"] == pytest.approx(2.0)
    assert day["availability"] == pytest.approx(22 / 24)
    # the plant's 30 November has no failure (in UTC days it would have had this one)
    assert _cnc2(cli, "--from", "2026-11-30", "--to", "2026-12-01")["failures"] == 0
    # a moment with its zone is taken as written: from 18:00 UTC on 30 November misses the 17:00 UTC report
    assert _cnc2(cli, "--from", "2026-11-30T18:00:00Z", "--to", "2026-12-02")["failures"] == 0
    # the same answer as the API's, which has always read plain dates in the plant's zone
    api = mw.get("/api/maintenance/reliability?machine=CNC-2&from=2026-12-01&to=2026-12-02", who="mgr1")["machines"][0]
    assert api["failures"] == day["failures"] == 1


def test_reliability_cli_refuses_odd_periods_in_words(mw: Plant, cli: Any) -> None:
    for args, words in ((("--from", "12/01/2026", "--to", "2026-12-02"), "不是日期"),
                        (("--from", "0001-01-01", "--to", "2026-12-02"), "超出范围"),
                        (("--from", "2026-12-02", "--to", "2026-12-01"), "开始日期须早于结束日期")):
        out = cli("maintenance", "reliability", *args)
        assert out.exit_code == 2 and words in out.output and "Traceback" not in out.output, out.output
