"""追溯 (trace tree, issue 21 item 6) on a core --demo plant of its own. Arranged through the API as the plant
would work: 500 kg of 灰铸铁 HT250 received as lot H-RM-01 (heat number H23-0815, 鞍钢), 40 kg issued to an order
for 闸阀 DN50 that reports one operation on a machine, 5 闸阀 received as lot FG-0001 and 2 shipped against the
demo's sales order SO-DEMO-001 (温州瓯江水务工程有限公司, modelpacks/core/demo/sales_order.json); the genealogy
rules are docs/traceability.md's. In the browser: forward from H-RM-01 the tree reaches FG-0001 and the customer;
backward from FG-0001 it reaches H-RM-01, its heat number, the order with its job report (operator, machine);
the recall by heat number names the customer, the lots it reached and where their stock is now; a heat number typed for
正向 traces every lot of it; 导出 Excel downloads a workbook; on a 390 px phone the shop-floor
page's scan of the lot label LOT:FG-V50:FG-0001 opens the backward trace. Screenshots trace-forward.png,
trace-backward.png, trace-phone.png."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import CoreApi, login, shot

CUSTOMER = "温州瓯江水务工程有限公司"


@pytest.fixture(scope="module")
def traced(core_server: str) -> Iterator[str]:
    api = CoreApi(core_server, "admin")
    items = {i["code"]: i["id"] for i in api.get("/api/records/item", limit=50)["items"]}
    locs = {r["code"]: r["id"] for r in api.get("/api/records/location", limit=50)["items"]}
    got = api.post("/api/inventory/documents/stock_receipt", {"supplier": "鞍钢", "lines": [
        {"item": items["RM-HT250"], "qty": 500, "to_location": locs["RM-01"], "lot_number": "H-RM-01",
         "heat_number": "H23-0815", "supplier_lot": "AG-7781"}]})
    lot = got["moves"][0]["lot"]
    order = api.post("/api/records/production_order", {"item": items["FG-V50"], "qty": 5, "due_date": "2030-12-15 17:00"})["id"]
    api.post(f"/api/production/orders/{order}/release")
    api.post("/api/inventory/documents/stock_issue", {"production_order": order, "lines": [
        {"item": items["RM-HT250"], "qty": 40, "from_location": locs["RM-01"], "lot": lot}]})
    task = api.get("/api/records/operation_task", production_order=order, limit=50)["items"][0]
    machine = api.get("/api/records/machine", limit=5)["items"][0]["id"]
    api.post("/api/production/reports", {"task": task["id"], "event": "report", "good_qty": 1, "machine": machine, "client_id": "trace-ui-1"})
    made = api.post("/api/inventory/documents/production_receipt", {"production_order": order, "lines": [
        {"item": items["FG-V50"], "qty": 5, "to_location": locs["FG-01"], "lot_number": "FG-0001"}]})
    so = api.get("/api/records/sales_order", code="SO-DEMO-001")["items"][0]["id"]
    api.post("/api/inventory/documents/stock_shipment", {"sales_order": so, "lines": [
        {"item": items["FG-V50"], "qty": 2, "from_location": locs["FG-01"], "lot": made["moves"][0]["lot"]}]})
    yield core_server


def trace(page, lot: str, direction: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("[data-test=trace-direction] label", has_text=direction).click()
    page.fill("input[data-test=trace-box]", lot)
    page.press("input[data-test=trace-box]", "Enter")


def test_forward_backward_recall_and_export(page, traced: str) -> None:  # type: ignore[no-untyped-def]
    login(page, traced)
    page.click("[data-test=nav-trace]")
    page.wait_for_selector("[data-test=trace-direction]")
    assert page.locator("h2").first.inner_text() == "追溯"
    trace(page, "H-RM-01", "正向")
    tree = page.locator("[data-test=trace-tree]")
    tree.locator("[data-kind=shipment]").first.wait_for()
    text = tree.inner_text()
    assert "灰铸铁 HT250 H-RM-01" in text and "闸阀 DN50 FG-0001" in text and CUSTOMER in text
    assert "投料" in text and "SO-DEMO-001" in text and "炉号 H23-0815" in text
    assert "数量 40 kg" in text                        # review finding 16: quantities with the item's unit
    shot(page, "trace-forward")
    # review finding 4: the box says 批号、序列号或炉号 — a heat number traces forward from every lot of it
    trace(page, "H23-0815", "正向")
    page.locator("[data-test=trace-by-heat]").wait_for()
    assert "H23-0815" in page.locator("[data-test=trace-by-heat]").inner_text()
    assert "闸阀 DN50 FG-0001" in tree.inner_text() and CUSTOMER in tree.inner_text()

    trace(page, "FG-0001", "反向")
    tree.locator("[data-kind=heat]").first.wait_for()
    text = tree.inner_text()
    assert "闸阀 DN50 FG-0001" in text and "灰铸铁 HT250 H-RM-01" in text and "H23-0815" in text
    order = tree.locator("[data-kind=order]").first.inner_text()
    assert "MO-" in order
    assert tree.locator("[data-kind=report]").count() >= 1
    shot(page, "trace-backward")
    with page.expect_download() as got:
        page.click("[data-test=trace-export]")
    assert got.value.suggested_filename.endswith(".xlsx")

    trace(page, "H23-0815", "召回模拟")
    page.locator("[data-test=recall-customer]").first.wait_for()
    assert CUSTOMER in page.locator("[data-test=recall-customer]").first.inner_text()
    assert "共 2 台" in page.locator("[data-test=recall-customer]").first.inner_text()
    # review finding 5: the recall names the finished lot it reached and where its stock is now (what to hold)
    recall = page.locator("[data-test=trace-recall]").inner_text()
    assert "闸阀 DN50 FG-0001" in recall and "灰铸铁 HT250 H-RM-01" in recall
    held = page.locator("[data-test=recall-stock]", has_text="FG-0001").inner_text()
    assert "FG-01" in held and "现存 3" in held
    assert "现存 460 kg" in page.locator("[data-test=recall-stock]", has_text="H-RM-01").inner_text()
    shot(page, "trace-recall")
    with page.expect_download() as got:
        page.click("[data-test=trace-export]")
    import io

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(got.value.path().read_bytes()))
    assert any(r[0] == "FG-0001" and r[5] == 3 for r in book["现存量（需隔离）"].values)

    trace(page, "NO-SUCH-LOT", "正向")
    err = page.locator("[data-test=trace-error]")
    err.wait_for()
    assert "NO-SUCH-LOT" in err.inner_text()


def test_a_lot_label_scanned_on_the_shop_floor_opens_its_trace(page, traced: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, traced)
    page.goto(traced + "/#/shopfloor")
    page.fill("[data-test=scan-input]", "LOT:FG-V50:FG-0001")
    page.press("[data-test=scan-input]", "Enter")
    page.locator("[data-test=trace-tree] [data-kind=lot]").first.wait_for()
    assert "闸阀 DN50 FG-0001" in page.locator("[data-test=trace-tree]").inner_text()
    page.locator("[data-test=trace-direction] label", has_text="反向").click()
    page.click("[data-test=trace-go]")
    page.locator("[data-test=trace-tree] [data-kind=heat]").first.wait_for()
    assert "灰铸铁 HT250 H-RM-01" in page.locator("[data-test=trace-tree]").inner_text()
    shot(page, "trace-phone")
