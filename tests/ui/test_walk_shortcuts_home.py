"""Shortcuts on the no-code walk's home stretch (issue 20, items 5, 6, 9): the report designer adds 记录数
by itself with the first category and names a new report after its source and categories until the user
types a name of her own; the home page shows 待我审批 above the app cards with the inbox's own task card
(the record's fields, 同意 / 驳回 / ⋯ with the same dialog), at most three and a link to all; a form's card
has "+ 新建" for those who may create its records. On a server of its own (the inbox test's form, flow and
people), so nothing here depends on the demo content."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.integration.test_inbox_decide import FLOW, FORM, PEOPLE  # noqa: F401  (flow_server's)
from tests.ui.conftest import UserApi as Api
from tests.ui.conftest import login, shot
from tests.ui.test_inbox_screen import _submit


@pytest.fixture(scope="module")
def plant(flow_server: str) -> str:
    """The server of this module (tests/ui/conftest.py ``flow_server``: the inbox tests' PEOPLE, FORM and FLOW)."""
    return flow_server


def _instances(api: Api) -> dict[str, str]:
    """The inspector's requests: the record's batch -> the request's status."""
    return {i["record"]["title"]["zh-CN"] if isinstance(i["record"]["title"], dict) else i["record"]["title"]: i["instance"]["status"]
            for i in api.call("get", "/api/tasks", box="started")["items"]}


def test_home_shows_my_tasks_with_the_inbox_card_and_decides_them(page, plant: str) -> None:
    insp = Api(plant, "insp1")
    for batch in ("H-1", "H-2", "H-3", "H-4"):
        _submit(insp, batch)

    # the inspector has nothing to approve: no 待我审批 on her home page, the cards alone
    login(page, plant, "insp1", "insp1-pass-1")
    page.locator("[data-app]").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-test=home-todo]").count() == 0
    page.click("text=退出")

    login(page, plant, "qm1", "qm1-pass-1")
    todo = page.locator("[data-test=home-todo]")
    todo.wait_for()
    # above the app cards, three of four tasks, a link to all of them with the number
    assert todo.bounding_box()["y"] < page.locator("[data-app]").first.bounding_box()["y"]
    expect(todo.locator("[data-task]")).to_have_count(3)
    expect(todo.locator("[data-test=home-todo-all]")).to_have_text("全部待办 (4)")
    # the inbox's card: the record's key fields in words, the flow, the step
    card = todo.locator("[data-task]").first
    said = card.inner_text()
    assert "来料不合格评审" in said and "质量经理审批" in said and "检验员小王" in said, said
    assert card.locator("[data-field=verdict]").inner_text().split() == ["判定", "不合格"]
    assert "索赔金额" not in todo.inner_text()            # hidden from the quality managers, here too
    shot(page, "home-todo")

    # 同意 from the home page, with the inbox's dialog and an opinion
    first = card.inner_text().split()[0]
    card.locator("[data-action=approve]").click()
    page.fill("[data-test=opinion]", "首页直接同意")
    page.click("[data-test=confirm-action]")
    expect(todo.locator("[data-task]").filter(has_text=first)).to_have_count(0)
    expect(todo.locator("[data-test=home-todo-all]")).to_have_text("全部待办 (3)")
    assert _instances(insp)[first] == "approved"

    # 驳回, and 退回 from the ⋯ menu, each through the same dialog
    card = todo.locator("[data-task]").first
    second = card.inner_text().split()[0]
    card.locator("[data-action=reject]").click()
    page.fill("[data-test=opinion]", "外观不合格，驳回")
    page.click("[data-test=confirm-action]")
    expect(todo.locator("[data-task]").filter(has_text=second)).to_have_count(0)
    assert _instances(insp)[second] == "rejected"
    card = todo.locator("[data-task]").first
    card.get_by_role("button", name="更多操作").click()
    page.locator(".el-dropdown-menu__item[data-more=return]:visible").click()
    page.locator(".el-dialog", has_text="退回到").locator("[data-test=confirm-action]").click()
    expect(todo.locator("[data-test=home-todo-all]")).to_have_text("全部待办 (1)")

    # a phone: the card and its buttons fit 390 px
    page.set_viewport_size({"width": 390, "height": 844})
    todo.locator("[data-task] [data-field=verdict]").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "home-todo-phone")
    page.set_viewport_size({"width": 1366, "height": 768})

    # the card opens its detail in the inbox; the link opens the inbox
    last = todo.locator("[data-task]").first
    last_batch = last.inner_text().split()[0]
    last.locator("[data-action=detail]").click()
    page.wait_for_url(re.compile(r".*#/inbox\?task=\d+$"))
    drawer = page.locator(".el-drawer")
    drawer.locator("[data-test=detail-decide]").wait_for()
    expect(drawer.locator(".el-drawer__title")).to_have_text(last_batch)
    page.goto(plant + "/#/")
    page.locator("[data-test=home-todo-all]").click()
    page.wait_for_url(re.compile(r".*#/inbox$"))
    page.locator("[data-task]").filter(has_text=last_batch).wait_for()

    # the last one decided on the home page: it says so rather than vanishing
    page.goto(plant + "/#/")
    page.locator("[data-test=home-todo] [data-action=approve]").click()
    page.click("[data-test=confirm-action]")
    page.locator("[data-test=home-todo]").get_by_text("没有待办").wait_for()
    expect(page.locator("[data-test=home-todo-all]")).to_have_text("全部待办 (0)")


def test_a_form_card_has_new_for_those_who_may_create(page, plant: str) -> None:
    login(page, plant, "insp1", "insp1-pass-1")
    tile = page.locator("[data-tile=incoming_check]")
    tile.wait_for()
    new = tile.locator("[data-test=tile-new]")
    expect(new).to_have_attribute("aria-label", "在「来料检验记录」新建一条记录")
    assert "新建" in new.inner_text()
    shot(page, "home-tile-new")
    # one click: a new record of that form
    new.click()
    page.wait_for_url(re.compile(r".*#/f/incoming_check/new$"))
    page.locator(".el-form-item", has_text="批次号").first.locator("input").wait_for()
    # the card itself still opens the list
    page.goto(plant + "/#/")
    page.locator("a.tile", has_text="来料检验记录").click()
    page.wait_for_url(re.compile(r".*#/f/incoming_check$"))
    # a phone: two cards a row, "+" alone, nothing wider than the screen
    page.goto(plant + "/#/")
    page.set_viewport_size({"width": 390, "height": 844})
    new.wait_for()
    assert new.is_visible() and page.evaluate("document.documentElement.scrollWidth") <= 390
    box, plus = tile.bounding_box(), new.bounding_box()
    assert plus["x"] + plus["width"] <= box["x"] + box["width"]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.click("text=退出")

    # the quality manager may read the form's records, not create them: the card, no "+ 新建"
    login(page, plant, "qm1", "qm1-pass-1")
    page.locator("[data-tile=incoming_check]").wait_for()
    assert page.locator("[data-tile=incoming_check] [data-test=tile-new]").count() == 0


def _drag(page, source, target) -> None:  # type: ignore[no-untyped-def]
    """A pointer drag (SortableJS, forceFallback) from ``source`` onto the middle of ``target``."""
    s, t = source.bounding_box(), target.bounding_box()
    page.mouse.move(s["x"] + s["width"] / 2, s["y"] + s["height"] / 2)
    page.mouse.down()
    page.mouse.move(s["x"] + s["width"] / 2 + 5, s["y"] + s["height"] / 2 + 5, steps=3)
    page.mouse.move(t["x"] + t["width"] / 2, t["y"] + t["height"] / 2, steps=15)
    page.wait_for_timeout(100)
    page.mouse.up()
    page.wait_for_timeout(200)


def _drop_dimension(page, label: str) -> None:  # type: ignore[no-untyped-def]
    chips = page.locator("[data-test=dims] .chip")
    before = chips.count()
    for _ in range(3):          # a drag the loaded machine dropped early is tried again
        _drag(page, page.locator("[data-rfield]", has_text=label).first, page.locator("[data-test=dims]"))
        if chips.count() == before + 1:
            return
    raise AssertionError(f"{label} was not dropped")


def test_a_new_report_counts_and_names_itself(page, plant: str) -> None:
    insp = Api(plant, "insp1")
    _submit(insp, "R-1", verdict="ok")
    _submit(insp, "R-2", verdict="ok")
    _submit(insp, "R-3", verdict="ng")
    admin = Api(plant, "admin", "admin-pass-1")
    counts = {"合格": 0, "不合格": 0}
    for rec in admin.call("get", "/api/records/incoming_check", limit=200)["items"]:
        counts[{"ok": "合格", "ng": "不合格"}[rec["verdict"]]] += 1

    login(page, plant, "admin", "admin-pass-1")
    page.goto(plant + "/#/design/report")
    label = page.locator("[data-test=report-label]")
    label.wait_for()
    page.locator("[data-test=report-source]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="来料检验记录").first.click()
    expect(label).to_have_value("来料检验记录 统计")
    _drop_dimension(page, "判定")
    # the name follows the categories; a count came by itself, as a chip that can go
    expect(label).to_have_value("来料检验记录 按 判定 统计")
    measure = page.locator("[data-test=measures] [data-measure=records]")
    expect(measure).to_contain_text("记录数")
    preview = page.locator("[data-test=report-preview]")
    preview.locator(".el-table__row").first.wait_for()
    rows = {r.split()[0]: int(r.split()[-1]) for r in preview.locator(".el-table__row").all_inner_texts()}
    assert rows == {k: v for k, v in counts.items() if v}, rows
    shot(page, "report-auto-count-name")
    # the key comes from the name (pinyin), as before
    page.locator("[data-test=report-name-advanced]").click()
    expect(page.locator("[data-test=report-name]")).to_have_value(re.compile(r"^[a-z][a-z0-9_]*$"))
    page.locator("[data-test=report-name-advanced]").click()
    expect(page.locator("[data-test=report-name]")).to_be_hidden()

    # removable; a second category renames, and does not bring a second count
    measure.locator("button").click()
    expect(page.locator("[data-test=measures] .chip")).to_have_count(0)
    _drop_dimension(page, "检验员")
    expect(label).to_have_value("来料检验记录 按 判定、检验员 统计")
    expect(page.locator("[data-test=measures] .chip")).to_have_count(0)
    page.locator("[data-test=dims] [data-dim] button").last.click()          # 检验员 goes again
    expect(label).to_have_value("来料检验记录 按 判定 统计")
    page.click("[data-test=add-count]")
    page.click("[data-test=add-count]")                     # once is enough: no second 记录数
    expect(page.locator("[data-test=measures] .chip")).to_have_count(1)

    with page.expect_response(lambda r: "/api/reports/" in r.url and r.request.method == "PUT") as put:
        page.click("[data-test=publish-report]")
    assert put.value.status == 200, put.value.text()
    page.wait_for_url(re.compile(r".*/design/report/\w+$"))
    name = page.url.rsplit("/", 1)[1]
    definition = admin.call("get", f"/api/reports/{name}")["definition"]
    assert definition["label"] == {"zh-CN": "来料检验记录 按 判定 统计", "en": "Incoming inspection by Verdict"}
    assert [m["agg"] for m in definition["measures"]] == ["count"]

    # a name she typed stays hers, whatever she changes after; its English made from the old name goes
    page.goto(plant + "/#/design")
    page.goto(plant + "/#/design/report")
    label = page.locator("[data-test=report-label]")
    label.wait_for()
    page.locator("[data-test=report-source]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="来料检验记录").first.click()
    expect(label).to_have_value("来料检验记录 统计")
    label.fill("来料判定统计")
    _drop_dimension(page, "判定")
    page.locator("[data-test=measures] [data-measure=records]").wait_for()
    page.wait_for_timeout(300)
    expect(label).to_have_value("来料判定统计")
    with page.expect_response(lambda r: "/api/reports/" in r.url and r.request.method == "PUT") as put:
        page.click("[data-test=publish-report]")
    assert put.value.status == 200, put.value.text()
    page.wait_for_url(re.compile(r".*/design/report/\w+$"))
    mine = admin.call("get", f"/api/reports/{page.url.rsplit('/', 1)[1]}")["definition"]["label"]
    assert mine["zh-CN"] == "来料判定统计" and mine.get("en", "") in ("", "来料判定统计"), mine
