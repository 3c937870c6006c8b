"""SPC 控制图 (issue 22) in the browser, as a quality engineer meets it: the core plant with the quality pack,
an IQC plan whose 内径 is charted (X̄-R), the 25 piston-ring samples of Montgomery's Table 6.3 (Introduction to
Statistical Quality Control, 6th ed., Example 6.3; the demo pack's bore_readings.json) entered and judged as
25 inspection lots, then a 26th lot with the bore shifted up by about 0.03 mm. The page picks the only charted
characteristic, shows the X̄-R chart with its limits (the same as the API's), the shifted lot marked beyond the
control limits and raised as an alarm, the capability in plain words and the normality test's words; the
engineer acknowledges the alarm (确认), excludes the shifted lot with a reason and sees the limits computed
again, then takes it back. At 390 px the panels stack without a sideways scroll; a storekeeper has no menu entry;
the 质量看板 dashboard shows its cards to the engineer.
Screenshots spc-page.png and spc-page-phone.png."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import _serve, core_database, login, shot

ROOT = Path(__file__).resolve().parents[2]
RINGS = json.loads((ROOT / "modelpacks/demo/fixtures/bore_readings.json").read_text())["subgroups"]
SHIFTED = ["74.032", "74.028", "74.035", "74.030", "74.033"]          # mean 74.0316 > UCL 74.0143
USERS = {"qe1": ["quality_engineer"], "insp1": ["qc_inspector"], "store1": ["storekeeper"]}


class Api:
    def __init__(self, base: str, user: str) -> None:
        self.base = base
        r = httpx.post(base + "/api/auth/token", data={"username": user, "password": user + "-pass-1"})
        r.raise_for_status()
        self.h = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        r = httpx.request(method, self.base + path, headers=self.h, json=body, params=params or None, timeout=60)
        assert r.status_code in (200, 201), r.text
        return r.json()


@pytest.fixture(scope="module")
def spc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.api.app import create_app
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.settings import Settings
    from tests.conftest import fixture_hash

    data = tmp_path_factory.mktemp("ui-spc")
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
        "name": "活塞环来料检验", "inspection_type": "iqc", "item": item, "fixed_sample_size": 5,
        "characteristics": [{"seq_no": 1, "name": "内径", "kind": "numeric", "defect_class": "major", "nominal": 74.0,
                             "lsl": 73.95, "usl": 74.05, "unit": "mm", "spc": True, "chart": "xbar_r"}]})["id"]
    codes = []
    for readings in [*RINGS, SHIFTED]:
        lot = insp.call("POST", "/api/records/inspection_lot", {"plan": plan, "item": item, "inspection_type": "iqc",
                                                                 "lot_qty": 500, "supplier": "活塞环厂"})
        cells = [{"sample_no": i + 1, "char_seq": 1, "value": str(v)} for i, v in enumerate(readings)]
        insp.call("PUT", f"/api/quality/inspections/{lot['id']}/results", {"cells": cells})
        insp.call("POST", f"/api/quality/inspections/{lot['id']}/judge", {})
        codes.append(lot["code"])
    yield {"base": base, "plan": plan, "qe": qe, "codes": codes}
    try:
        next(served)
    except StopIteration:
        pass
    engine.dispose()


def _local(iso: str) -> str:
    """A stored (UTC) time on the plant's clock, as the page prints it."""
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.platform.settings import Settings

    at = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(plant_tz(Settings(database_url="sqlite://").timezone)).strftime("%Y-%m-%d %H:%M")


def _chart(s: dict[str, Any]) -> dict[str, Any]:
    return s["qe"].call("GET", "/api/quality/spc/chart", plan=s["plan"], char_seq=1)


def _f4(v: float) -> str:
    """As the page prints a number: at most 4 decimals, no trailing zeros."""
    return f"{v:.4f}".rstrip("0").rstrip(".")


def _limits(ans: dict[str, Any]) -> str:
    x = ans["spc"]["charts"][0]
    return f"UCL {_f4(x['ucl'])} · 中心线 {_f4(x['center'])} · LCL {_f4(x['lcl'])}"


def test_the_engineer_reads_the_chart_acknowledges_the_alarm_and_excludes_a_point(page, spc_server) -> None:  # type: ignore[no-untyped-def]
    s = spc_server
    before = _chart(s)
    assert len(before["alarms"]) == 1 and before["alarms"][0]["inspection_lot"]          # the shifted lot's alarm
    login(page, s["base"], "qe1", "qe1-pass-1")
    page.click("[data-test=nav-spc]")
    charts = page.locator("[data-test=spc-charts]")
    charts.wait_for()
    assert page.locator("h2").first.inner_text() == "SPC 控制图"
    facts = charts.inner_text()
    assert "内径" in facts and "均值-极差图（X̄-R）" in facts and "26 个子组" in facts
    assert "规格 73.95 ～ 74.05（标准值 74）mm" in page.locator("[data-test=spc-spec]").inner_text()
    assert page.locator("[data-test=spc-limits]").inner_text() == "控制限：" + _limits(before)
    violations = page.locator("[data-test=spc-violation]")
    assert s["codes"][-1] in violations.first.inner_text() and "超出控制限" in violations.first.inner_text()
    cap = before["spc"]["capability"]
    verdict = page.locator("[data-test=spc-verdict]").inner_text()
    want = "过程能力充足" if cap["Cpk"] >= 1.33 else "过程能力尚可，需要改进" if cap["Cpk"] >= 1 else "过程能力不足"
    assert verdict == want
    assert page.locator("[data-test=cap-cpk]").inner_text().startswith(f"{cap['Cpk']:.3f}".rstrip("0").rstrip("."))
    assert "Anderson-Darling" in page.locator("[data-test=spc-normality]").inner_text()
    alarm = page.locator("[data-test=spc-alarm]")
    assert alarm.count() == 1 and s["codes"][-1] in alarm.inner_text()
    shot(page, "spc-page")

    alarm.locator("[data-test=spc-ack]").click()
    page.locator("[data-test=spc-acked]").wait_for()
    assert "qe1 已于" in page.locator("[data-test=spc-acked]").inner_text()
    assert _chart(s)["alarms"][0]["acknowledged_at"]

    violations.first.click()
    dialog = page.locator("[data-test=spc-point-dialog]")
    page.locator("[data-test=spc-exclude]").click()
    dialog.get_by_text("请写明排除原因").wait_for()                                   # no reason: said, not sent
    assert "检验时间：" + _local(before["subgroups"][-1]["inspected_at"]) in dialog.inner_text()   # the plant's clock
    dialog.locator("textarea").fill("量具校准前的读数")
    page.locator("[data-test=spc-exclude]").click()
    page.locator("[data-test=spc-excluded-row]").wait_for()
    after = _chart(s)
    assert after["spc"]["excluded"][0]["reason"] == "量具校准前的读数"
    assert _limits(after) != _limits(before)
    page.wait_for_function("([el, want]) => el.textContent === want",
                           arg=[page.locator("[data-test=spc-limits]").element_handle(), "控制限：" + _limits(after)])
    assert "量具校准前的读数" in page.locator("[data-test=spc-excluded]").inner_text()

    page.locator("[data-test=spc-include]").click()
    page.locator("[data-test=spc-excluded-row]").wait_for(state="detached")
    assert page.locator("[data-test=spc-limits]").inner_text() == "控制限：" + _limits(before)


def test_the_page_on_a_phone_stacks_its_panels(page, spc_server) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, spc_server["base"], "qe1", "qe1-pass-1")
    page.goto(spc_server["base"] + "/#/spc")
    page.locator("[data-test=spc-capability]").wait_for()
    wide = page.evaluate("document.scrollingElement.scrollWidth")
    assert wide <= 392, wide
    charts = page.locator("[data-test=spc-charts]").bounding_box()
    capability = page.locator("[data-test=spc-capability]").bounding_box()
    hist = page.locator("[data-test=spc-histogram]").bounding_box()
    assert abs(capability["x"] - charts["x"]) < 2 and capability["y"] > charts["y"] and hist["y"] > capability["y"]
    assert capability["width"] <= 390
    shot(page, "spc-page-phone")


def test_a_storekeeper_has_no_spc_menu_entry(page, spc_server) -> None:  # type: ignore[no-untyped-def]
    login(page, spc_server["base"], "store1", "store1-pass-1")
    page.locator("[data-test=nav-stock]").wait_for()
    assert page.locator("[data-test=nav-spc]").count() == 0


def test_the_quality_board_shows_its_cards(page, spc_server) -> None:  # type: ignore[no-untyped-def]
    # the 26 lots above are all accepted (the shifted bore is still within 73.95–74.05): acceptance 100 %, PPM 0
    login(page, spc_server["base"], "qe1", "qe1-pass-1")
    page.goto(spc_server["base"] + "/#/d/quality_board")
    acceptance = page.locator("[data-widget=acceptance]")
    acceptance.locator("[data-test=kpi-value]").wait_for()
    assert "来料批合格率" in acceptance.inner_text() and "100" in acceptance.locator("[data-test=kpi-value]").inner_text()
    assert page.locator("[data-widget=ppm] [data-test=kpi-value]").inner_text().startswith("0")
    assert page.locator(".widget .err").count() == 0
    assert "质量看板" in page.locator("body").inner_text()
    shot(page, "quality-board")
