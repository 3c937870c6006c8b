"""An attribute characteristic's p chart on the SPC page (issue 22), as a quality engineer meets it: the core plant
with the quality pack, an IQC plan whose 封口 (seal, pass/fail) is charted p, and Montgomery's orange-juice cans
(*Introduction to Statistical Quality Control*, 6th ed., Example 7.1 / Table 7.1: 30 samples of 50, p̄ = 0.2313,
UCL = 0.4102, LCL = 0.0524) entered and judged as 30 inspection lots. The page names the chart 不合格品率图（p）,
prints the book's limits, shows no capability panel (counts have no specification), and a point's window says
how many of the lot's samples failed. With samples 15 and 23 excluded for their causes, 以当前数据为基准 writes
p̄ = 0.2150 on the plan and the chart turns to 阶段 II 固定控制限 (Montgomery §7.2.1: UCL 0.3893, LCL 0.0407).
Screenshot spc-p-chart.png."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import _serve, core_database, login, shot
from tests.ui.test_ncr_capa_screens import assert_styled_box
from tests.ui.test_spc_page import USERS, Api

JUICE = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]


@pytest.fixture(scope="module")
def p_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.api.app import create_app
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.settings import Settings
    from tests.conftest import fixture_hash

    data = tmp_path_factory.mktemp("ui-spc-p")
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
        "name": "果汁罐来料检验", "inspection_type": "iqc", "item": item, "fixed_sample_size": 50,
        "characteristics": [{"seq_no": 1, "name": "封口", "kind": "attribute", "defect_class": "major", "spc": True, "chart": "p"}]})["id"]
    lots = []
    for bad in JUICE:
        lot = insp.call("POST", "/api/records/inspection_lot", {"plan": plan, "item": item, "inspection_type": "iqc", "lot_qty": 500})
        insp.call("PUT", f"/api/quality/inspections/{lot['id']}/results",
                  {"cells": [{"sample_no": i + 1, "char_seq": 1, "ok": i >= bad} for i in range(50)]})
        insp.call("POST", f"/api/quality/inspections/{lot['id']}/judge", {})
        lots.append(lot)
    yield {"base": base, "plan": plan, "qe": qe, "lots": lots}
    try:
        next(served)
    except StopIteration:
        pass
    engine.dispose()


def test_the_baseline_is_offered_only_to_who_may_edit_the_plan_in_a_styled_dialog(page, p_server) -> None:  # type: ignore[no-untyped-def]
    """Review of issue 22: an inspector (reads plans, may not edit them) was offered 以当前数据为基准, which failed
    after confirming; the confirm dialog rendered without its box and backdrop."""
    s = p_server
    login(page, s["base"], "insp1", "insp1-pass-1")
    page.goto(s["base"] + f"/#/spc?plan={s['plan']}&char_seq=1")
    page.locator("[data-test=spc-limits]").wait_for()
    assert page.locator("[data-test=spc-kind]").inner_text() == "不合格品率图（p）"
    assert page.locator("[data-test=spc-baseline]").count() == 0
    login(page, s["base"], "qe1", "qe1-pass-1")
    page.goto(s["base"] + f"/#/spc?plan={s['plan']}&char_seq=1")
    button = page.locator("[data-test=spc-baseline]")
    button.click()                   # (before the next test, which takes the baseline: then the button is gone)
    assert_styled_box(page)
    page.locator(".el-message-box__btns .el-button", has_text="关闭").click()


def test_a_p_chart_of_pass_fail_marks_and_its_baseline(page, p_server) -> None:  # type: ignore[no-untyped-def]
    s = p_server
    login(page, s["base"], "qe1", "qe1-pass-1")
    page.goto(s["base"] + f"/#/spc?plan={s['plan']}&char_seq=1")
    charts = page.locator("[data-test=spc-charts]")
    charts.wait_for()
    assert page.locator("[data-test=spc-kind]").inner_text() == "不合格品率图（p）" and "30 个子组" in charts.inner_text()
    assert page.locator("[data-test=spc-limits]").inner_text() == "控制限：UCL 0.4102 · 中心线 0.2313 · LCL 0.0524"
    assert page.locator("[data-test=spc-capability]").count() == 0 and page.locator("[data-test=spc-spec]").count() == 0
    marked = page.locator("[data-test=spc-violation]")
    assert any(s["lots"][22]["code"] in text for text in marked.all_inner_texts())
    assert "不合格品率图" in page.locator("[data-test=spc-alarms]").inner_text()        # the alarms of lots 21–23
    shot(page, "spc-p-chart")
    # a point's window: how many of its 50 samples failed
    marked.filter(has_text=s["lots"][14]["code"]).first.click()
    dialog = page.locator("[data-test=spc-point-dialog]")
    assert dialog.locator("[data-test=spc-point-count]").inner_text() == "不合格 22 件 / 抽检 50 件"
    dialog.locator("textarea").fill("新批纸板")
    page.locator("[data-test=spc-exclude]").click()
    page.locator("[data-test=spc-excluded-row]").wait_for()
    s["qe"].call("POST", "/api/quality/spc/exclusions", {"plan": s["plan"], "char_seq": 1, "inspection_lot": s["lots"][22]["id"],
                                                         "reason": "新操作工"})
    page.locator("[data-test=spc-refresh]").click()
    page.wait_for_function("el => el.textContent.includes('中心线 0.215 ')",
                           arg=page.locator("[data-test=spc-limits]").element_handle())
    page.locator("[data-test=spc-baseline]").click()
    page.locator(".el-message-box").get_by_role("button", name="设为基准").click()
    page.locator("[data-test=spc-phase2]").wait_for()
    assert page.locator("[data-test=spc-phase2]").inner_text() == "阶段 II 固定控制限"
    assert page.locator("[data-test=spc-limits]").inner_text() == "控制限：UCL 0.3893 · 中心线 0.215 · LCL 0.0407"
    assert page.locator("[data-test=spc-baseline]").count() == 0
    row = s["qe"].call("GET", f"/api/records/inspection_plan/{s['plan']}")["characteristics"][0]
    assert float(row["baseline_mean"]) == pytest.approx(0.215, abs=1e-6)

