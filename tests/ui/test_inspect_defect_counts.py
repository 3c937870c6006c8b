"""Defects per unit on the phone (390 px) for a characteristic charted c (issue 22), as an inspector meets it:
an IQC plan of printed circuit boards whose 焊点缺陷 (solder defects) is on a c chart, two boards sampled per lot.
The history is Montgomery's circuit boards (*Introduction to Statistical Quality Control*, 6th ed., Example 7.3 /
Table 7.7: nonconformities on 26 samples, c̄ = 19.85, UCL = 33.22, LCL = 6.48, samples 6 and 20 beyond): 25 of
the 26 entered and judged through the API, sample 20 (39 defects) left to the inspector, who enters it on her
phone as 30 on the first board and 9 on the second — typed, then counted with the + / − buttons. Each board
takes a whole number (缺陷数, a numeric keypad; 2.5 is refused in words), a board with defects turns red and the
live count says 严重 2 / Ac 0 Re 1; judged, the lot is 不合格, and the SPC page's c chart shows the lot's point
as 39 (缺陷 39 个 / 检验 2 件) beyond the book's limits. Screenshot inspect-defects-phone.png."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import _serve, core_database, login, shot
from tests.ui.test_spc_page import USERS, Api

# Montgomery Table 7.7 in order; sample 20 (39) is the phone's
BOARDS = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]
PHONE = 19


@pytest.fixture(scope="module")
def c_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.api.app import create_app
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.settings import Settings
    from tests.conftest import fixture_hash

    data = tmp_path_factory.mktemp("ui-defects")
    url = core_database(data)
    engine = make_engine(url)
    settings = Settings(data_dir=data, database_url=url)
    manager.execute(engine, None, "install", "quality", forms_factory=form_registry, tz=plant_tz(settings.timezone))
    with write_tx(engine) as conn:
        for name, roles in USERS.items():
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), display_name=name, roles=roles)
    served = _serve(create_app(settings, engine, migrate=False))
    base = next(served)
    qe, insp = Api(base, "qe1"), Api(base, "insp1")
    item = qe.call("GET", "/api/records/item", limit=1)["items"][0]["id"]
    plan = qe.call("POST", "/api/records/inspection_plan", {
        "name": "电路板来料检验", "inspection_type": "iqc", "item": item, "fixed_sample_size": 2, "aql_major": "1.0",
        "characteristics": [{"seq_no": 1, "name": "焊点缺陷", "kind": "attribute", "defect_class": "major", "spc": True,
                             "chart": "c", "ncr_on_alarm": False}]})["id"]
    history = []
    for i, c in enumerate(BOARDS):
        if i == PHONE:
            continue
        lot = insp.call("POST", "/api/records/inspection_lot", {"plan": plan, "item": item, "inspection_type": "iqc", "lot_qty": 100})
        insp.call("PUT", f"/api/quality/inspections/{lot['id']}/results",
                  {"cells": [{"sample_no": 1, "char_seq": 1, "value": c}, {"sample_no": 2, "char_seq": 1, "value": 0}]})
        insp.call("POST", f"/api/quality/inspections/{lot['id']}/judge", {})
        history.append(lot)
    phone = insp.call("POST", "/api/records/inspection_lot", {"plan": plan, "item": item, "inspection_type": "iqc", "lot_qty": 100})
    yield {"base": base, "plan": plan, "phone": phone, "insp": insp}
    try:
        next(served)
    except StopIteration:
        pass
    engine.dispose()


def cell(page, s: int):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-cell='{s}:0']")


def test_defects_per_board_on_a_phone_make_the_lots_point_on_the_c_chart(page, c_server) -> None:  # type: ignore[no-untyped-def]
    s = c_server
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, s["base"], "insp1", "insp1-pass-1")
    page.goto(s["base"] + f"/#/inspect/{s['phone']['id']}")
    card = page.locator("[data-test=inspect-sample-card]")
    card.wait_for()
    assert "第 1 / 2 件" in card.inner_text() and "缺陷数" in card.inner_text()
    assert page.locator("[data-test=inspect-pass]").count() == 0                # a count, not 合格/不合格
    first = cell(page, 1).locator("[data-test=inspect-defects]")
    assert first.get_attribute("inputmode") == "numeric" and first.get_attribute("placeholder") == "0"
    box = first.bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= 390          # a big input, on the screen
    first.click()
    page.keyboard.type("2.5")                                                       # not a number of defects: said
    assert cell(page, 1).get_attribute("data-state") == "invalid"
    assert "0–10000 的整数" in cell(page, 1).inner_text()
    first.fill("30")
    assert cell(page, 1).get_attribute("data-state") == "bad"
    major = page.locator("[data-test=inspect-class][data-class=major]")
    assert "严重 1 / Ac 0 Re 1" in major.inner_text()
    page.keyboard.press("Enter")                                                    # the next board
    page.locator("[data-test=inspect-sample-card][data-sample='2']").wait_for()
    assert page.evaluate("() => document.activeElement?.closest('[data-cell]')?.dataset.cell") == "2:0"
    page.keyboard.press("Enter")                                                    # Enter on an empty count: 0 defects
    assert cell(page, 2).locator("[data-test=inspect-defects]").input_value() == "0" and cell(page, 2).get_attribute("data-state") == "ok"
    plus = cell(page, 2).locator("[data-test=inspect-defects-plus]")
    for _ in range(10):                                                             # counting on the board with a thumb
        plus.click()
    cell(page, 2).locator("[data-test=inspect-defects-minus]").click()
    assert cell(page, 2).locator("[data-test=inspect-defects]").input_value() == "9" and cell(page, 2).get_attribute("data-state") == "bad"
    assert "严重 2 / Ac 0 Re 1" in major.inner_text() and "rejected" in (major.get_attribute("class") or "")
    page.locator("[data-test=inspect-save-state]", has_text="已自动保存").wait_for()
    assert "读数已填完" in page.locator("[data-test=inspect-missing]").inner_text()
    stored = s["insp"].call("GET", f"/api/quality/inspections/{s['phone']['id']}")
    assert [(c["value"], c["ok"]) for row in stored["samples"] for c in row["cells"]] == [(30, False), (9, False)]
    shot(page, "inspect-defects-phone")
    page.click("[data-test=inspect-judge]")
    page.locator(".el-message-box__btns .el-button--primary").click()
    result = page.locator("[data-test=inspect-result]")
    result.wait_for()
    assert "不合格" in result.inner_text()

    # the c chart: 26 lots, the book's limits, and the phone's lot as the point 39 beyond the UCL
    page.goto(s["base"] + f"/#/spc?plan={s['plan']}&char_seq=1")
    page.locator("[data-test=spc-charts]").wait_for()
    assert "26 个子组" in page.locator("[data-test=spc-charts]").inner_text()
    ucl, center, lcl = (float(x) for x in re.findall(r"[\d.]+", page.locator("[data-test=spc-limits]").inner_text()))
    assert (ucl, center, lcl) == pytest.approx((33.22, 19.85, 6.48), abs=0.015)     # Montgomery Example 7.3
    page.locator("[data-test=spc-violation]", has_text=s["phone"]["code"]).click()
    dialog = page.locator("[data-test=spc-point-dialog]")
    assert dialog.locator("[data-test=spc-point-count]").inner_text() == "缺陷 39 个 / 检验 2 件"
