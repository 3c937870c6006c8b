"""放行调拨单 on the lot screen (issue 22, NCR/CAPA screens item 3), SQLite and PostgreSQL: the inspection entry
API (``GET /api/quality/inspections/{id}``) names the accepted lot's draft transfer out of the 待检区 as a link
with its state — only to who may read stock transfers — and, when the warehouse had no normal location, the
lot's words on what to do."""
from __future__ import annotations

from typing import Any

from tests.integration.test_quality_quarantine_release import Release, rel  # noqa: F401  (the fixture)


def _restrict_transfers(rel: Release) -> None:
    """The plant lets only storekeepers read transfers (the form's '*' read taken away)."""
    got = rel.get("/api/forms/stock_transfer")
    definition: dict[str, Any] = got.get("definition") or got
    definition["permissions"] = [p for p in definition["permissions"] if p.get("role") != "*"]
    r = rel.client.put("/api/forms/stock_transfer", json=definition, headers=rel.h("admin"))
    assert r.status_code == 200, r.text


def test_the_lot_screen_links_its_release_transfer_for_readers_of_transfers(rel: Release) -> None:  # noqa: F811
    rel.plan()
    il = rel.inspection_of(rel.into("QA", 500)["id"])
    rel.judge(il, bad=0)
    tr = rel.transfers()[-1]
    seen = rel.get(f"/api/quality/inspections/{il['id']}", who="qc1")["release"]
    assert seen["transfer"]["code"] == tr["code"] and seen["transfer"]["link"] == f"/f/stock_transfer/{tr['id']}"
    assert seen["transfer"]["status_label"]["zh-CN"] == "草稿" and seen["note"] is None
    _restrict_transfers(rel)
    assert rel.get(f"/api/quality/inspections/{il['id']}", who="qc1")["release"] is None          # no link, no number
    assert rel.get(f"/api/quality/inspections/{il['id']}", who="store1")["release"]["transfer"]["code"] == tr["code"]


def test_no_normal_location_the_lot_says_what_to_do(rel: Release) -> None:  # noqa: F811
    rel.plan()
    wh = rel.post("/api/records/warehouse", {"code": "WH8", "name": "外协待检仓二"})
    rel.loc["Q8"] = rel.post("/api/records/location", {"code": "Q8", "name": "外协待检区二", "warehouse": wh["id"], "kind": "quarantine"})["id"]
    il = rel.inspection_of(rel.into("Q8")["id"])
    rel.judge(il, bad=0)
    seen = rel.get(f"/api/quality/inspections/{il['id']}", who="qc1")["release"]
    assert seen["transfer"] is None and "没有启用的「正常」库位" in seen["note"] and "外协待检区二" in seen["note"]
