"""The supervisor's no-code walk (issue 20 item 9), at 1366x768, counting what she does.

As admin: the form 来料检验记录 with 6 fields dragged from the palette, a flow where 判定 = 不合格 goes
to the quality manager, both published with the default permissions. As the inspector: 3 records
(2 合格, 1 不合格), the 不合格 one submitted. As the quality manager: the task in the inbox shows the
record's fields; approved. As admin: a report and a pie dashboard of counts by 判定 showing 2 / 1.
Each person works in a browser of their own (as in the plant), so nobody signs another out; the admin
comes back to his own, still signed in.

Every click, key-in (a fill of one input is one) and drag goes through ``Walk``, which counts them and
refuses any ASCII letter typed outside the login form. The issue's target is TARGET actions; the walk
fails above CEILING (what it takes today: lower it with each shortcut the screens gain) and would be
reported as an expected failure (xfail, with the count) if it needed more than TARGET. Its count and wall time
are printed (docs/benchmarks.md: "The no-code walk (issue 20)")."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import _serve, shot

TARGET = 60     # issue 20 item 9
CEILING = 58    # measured on 2026-12-03 (93 before 保存并新建, 设置审批, 做成看板, 打开看板; 77 before a browser per person; 71 before buttons for few options, 按「判定」分支, 指定人员 by default, + 新建 on a card, 待我审批 at home, a report's own name and 记录数): more is a regression
FIELDS = [("text", "物料编码"), ("text", "批次号"), ("integer", "检验数量"), ("integer", "不良数"), ("select", "判定"),
          ("user", "检验员")]
ASCII_LETTER = re.compile(r"[A-Za-z]")


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own with the demo's people (qc1 the inspector, qcm the quality manager), so the
    keys made from the Chinese names are the first of their kind."""
    from mom.platform.api.app import create_app
    from mom.platform.cli.demo import load_demo
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade
    from mom.platform.settings import Settings

    data: Path = tmp_path_factory.mktemp("ui-walk")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'mom.sqlite3'}")
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    for _ in load_demo(engine):
        pass
    yield from _serve(create_app(settings, engine, migrate=False))
    engine.dispose()


class Walk:
    """The page's actions, counted: click, fill (one input, one action), drag, key press."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.actions = 0
        self.steps: list[str] = []

    def _count(self, what: str) -> None:
        self.actions += 1
        self.steps.append(what)

    def click(self, target, what: str = "click") -> None:  # type: ignore[no-untyped-def]
        loc = self.page.locator(target) if isinstance(target, str) else target
        loc.click()
        self._count(what)

    def fill(self, target, text: str, login: bool = False) -> None:  # type: ignore[no-untyped-def]
        assert login or not ASCII_LETTER.search(text), f"the walk typed English: {text!r}"
        loc = self.page.locator(target) if isinstance(target, str) else target
        loc.fill(text)
        self._count(f"fill {text}" if not login else "fill (login)")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self._count(f"key {key}")

    def pick(self, select, option_text: str) -> None:  # type: ignore[no-untyped-def]
        """An Element Plus select: open it, click the option (two actions)."""
        self.click(select, "open picker")
        self.click(self.page.locator(".el-select-dropdown__item:visible", has_text=option_text).first, f"pick {option_text}")

    def drag(self, source, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
        """One pointer drag (SortableJS, forceFallback) from ``source`` to the point (x, y)."""
        page = self.page
        s = source.bounding_box()
        page.mouse.move(s["x"] + s["width"] / 2, s["y"] + s["height"] / 2)
        page.mouse.down()
        page.mouse.move(s["x"] + s["width"] / 2 + 5, s["y"] + s["height"] / 2 + 5, steps=3)
        page.mouse.move(x, y, steps=15)
        page.wait_for_timeout(100)
        page.mouse.up()
        page.wait_for_timeout(200)
        self._count("drag")

    def login(self, base: str, user: str, password: str) -> None:
        page = self.page
        if "/login" not in page.url:
            self.click("[data-test=logout]", "logout")
        page.wait_for_selector("[data-test=username]")
        self.fill("[data-test=username]", user, login=True)
        self.fill("[data-test=password]", password, login=True)
        self.click("[data-test=login]", "login")
        page.wait_for_selector("[data-test=me]", state="attached")


def _drop_field(walk: Walk, kind: str) -> None:
    """Drag a palette entry to the bottom right corner of the first section; a drag the browser dropped
    early (a loaded machine) is repeated, and each try counts."""
    page = walk.page
    cards = page.locator("[data-test=canvas] [data-field-label]")
    before = cards.count()
    for _ in range(3):
        zone = page.locator("[data-test=drop-zone]").first.bounding_box()
        walk.drag(page.locator(f"[data-palette={kind}]"), zone["x"] + zone["width"] - 12, zone["y"] + zone["height"] - 6)
        if cards.count() == before + 1:
            return
    raise AssertionError(f"the {kind} field was not dropped")


def test_the_supervisors_walk(request, page, browser, browser_context_args, walk_server) -> None:  # type: ignore[no-untyped-def]
    base = walk_server
    started = time.monotonic()
    walk = Walk(page)
    page.goto(base + "/#/login")
    admin_page = page

    def own_browser():  # type: ignore[no-untyped-def]
        """Each person works on a browser of their own, as in the plant: the inspector at the receiving
        bench, the manager at her desk, while the admin stays signed in on his."""
        context = browser.new_context(**browser_context_args)
        request.addfinalizer(context.close)
        other = context.new_page()
        other.goto(base + "/#/login")
        walk.page = other
        return other

    # ---- admin: the form, dragged from the palette, named in Chinese --------------------------------
    walk.login(base, "admin", "admin123")
    walk.click(page.get_by_role("menuitem", name="设计"), "menu 设计")
    walk.click("[data-test=new-form]", "新建表单")
    page.wait_for_selector("[data-test=canvas]")
    walk.fill("[data-test=form-label]", "来料检验记录")
    for kind, label in FIELDS:
        _drop_field(walk, kind)
        walk.fill(".fprops [data-prop=label-zh]", label)     # the dropped field is the selected one
        if kind == "select":
            walk.fill(".fprops [data-prop=option-0]", "合格")
            walk.fill(".fprops [data-prop=option-1]", "不合格")
    labels = page.locator("[data-test=canvas] [data-field-label]").evaluate_all("els => els.map(e => e.dataset.fieldLabel)")
    assert labels == [label for _, label in FIELDS]
    page.wait_for_timeout(600)
    walk.click("[data-test=publish]", "发布")
    perms = page.locator("[data-test=plan-perms]")
    perms.wait_for()
    assert "所有登录的人" in perms.inner_text()                   # the default answer, in words
    walk.click("[data-test=confirm-publish]", "确认发布")
    page.wait_for_url(re.compile(r".*/design/form/\w+$"))
    form = page.url.rsplit("/", 1)[1]

    # ---- admin: the flow, 判定 = 不合格 goes to the quality manager -----------------------------------
    walk.click("[data-test=form-to-flow]", "设置审批")          # the flow on this form, named after it
    expect(page.locator("[data-test=flow-label]")).to_have_value("来料检验记录审批")
    expect(page.locator("[data-test=flow-form]")).to_contain_text("来料检验记录")
    walk.click(page.locator("[data-test=add-node]").first, "+")
    walk.click(page.locator(".el-dropdown-menu__item[data-test=split-by]:visible", has_text="按「判定」分支"), "按「判定」分支")
    expect(page.locator(".el-dropdown-menu__item[data-test=split-by]:visible")).to_have_count(0)   # the menu closed
    fail = page.locator("[data-test=branch][data-branch=不合格]")
    assert fail.locator("[data-test=cond-preview]").inner_text().strip() == "判定 等于 不合格"
    walk.click(fail.locator("[data-test=add-node]").first, "+ in the 不合格 branch")
    walk.click(".el-dropdown-menu__item[data-node-type=approval]:visible", "审批人")
    node = page.locator("[data-node=approval_1]")
    node.wait_for()
    walk.pick(node.locator("[data-test=assignee-users]"), "质量经理老陈")      # a new approver is 指定人员
    page.wait_for_function("document.querySelector('[data-test=flow-problems]').textContent.includes('没有错误')")
    walk.click("[data-test=publish-flow]", "发布流程")
    page.wait_for_url(re.compile(r".*/design/flow/\w+$"))
    shot(page, "walk-flow")

    # ---- the inspector: three records, the 不合格 one submitted ---------------------------------------
    page = own_browser()
    walk.login(base, "qc1", "qc1pass123")
    walk.click(page.locator(f"[data-tile={form}] [data-test=tile-new]"), "+ 新建 on the card")
    code_box = page.locator(".el-form-item", has_text="物料编码").first.locator("input")
    for n, (code, verdict) in enumerate((("料1001", "合格"), ("料1002", "合格"), ("料1003", "不合格"))):
        code_box.wait_for()
        walk.fill(code_box, code)
        walk.click(page.locator(".el-form-item", has_text="判定").first.locator(f"[data-choice={verdict}]"), f"pick {verdict}")
        if n < 2:                                   # 保存并新建: the page stays on an empty record
            walk.click("[data-test=save-new]", "保存并新建")
            expect(code_box).to_have_value("")
        else:
            walk.click("[data-test=save]", "保存")
            page.wait_for_url(re.compile(rf".*/f/{form}/\d+$"))
    page.locator("[data-test=submit-flow]").wait_for()
    walk.click("[data-test=submit-flow]", "提交审批")
    page.get_by_text("已提交审批").first.wait_for()

    # ---- the quality manager: the task shows the record's fields; approved ---------------------------
    page = own_browser()
    walk.login(base, "qcm", "qcmpass123")
    task = page.locator("[data-test=home-todo] [data-task]").filter(has_text="来料检验记录审批").first   # 待我审批 at home
    task.wait_for()
    said = task.inner_text()
    assert "判定" in said and "不合格" in said and "料1003" in said, said
    shot(page, "walk-inbox")
    walk.click(task.locator("[data-action=approve]"), "同意")
    walk.click("[data-test=confirm-action]", "确定")
    page.get_by_text("没有待办").wait_for()

    # ---- admin, back on his own browser: a report and a pie dashboard of counts by 判定 ---------------
    page = walk.page = admin_page
    walk.click(page.get_by_role("menuitem", name="设计"), "menu 设计")
    walk.click("[data-test=new-report]", "新建报表")
    walk.pick(page.locator("[data-test=report-source]"), "来料检验记录")
    field = page.locator("[data-rfield]", has_text="判定").first
    field.wait_for()
    for _ in range(3):
        dims = page.locator("[data-test=dims]").bounding_box()
        walk.drag(field, dims["x"] + dims["width"] / 2, dims["y"] + dims["height"] / 2)
        if page.locator("[data-test=dims] .chip").count():
            break
    expect(page.locator("[data-test=report-label]")).to_have_value("来料检验记录 按 判定 统计")   # named by itself
    expect(page.locator("[data-measure=records]")).to_have_count(1)                               # 记录数 by itself
    page.locator("[data-test=report-preview] .el-table__row").first.wait_for()
    walk.click("[data-test=publish-report]", "发布报表")
    page.wait_for_url(re.compile(r".*/design/report/\w+$"))

    walk.click("[data-test=report-to-dash]", "做成看板")       # a pie of the report's count by 判定, named after it
    cfg = page.locator("[data-wcfg=w1]")
    cfg.wait_for()
    expect(page.locator("[data-test=dash-label]")).to_have_value("来料检验记录 按 判定 统计看板")
    expect(cfg.locator("[data-test=w-type]")).to_contain_text("饼图")
    page.locator("[data-widget=w1] canvas").first.wait_for()        # the live preview
    shot(page, "walk-dashboard-designer")
    walk.click("[data-test=publish-dash]", "发布看板")
    page.wait_for_url(re.compile(r".*/design/dashboard/\w+$"))
    dash = page.url.rsplit("/", 1)[1]
    # the designers' heads keep 发布 on their row at 1366 px with the shortcut buttons
    pub = page.locator("[data-test=publish-dash]").bounding_box()
    assert abs(pub["y"] - page.locator("[data-test=open-dash]").bounding_box()["y"]) < 4 and pub["x"] + pub["width"] <= 1366

    with page.expect_response(lambda r: f"/api/dashboards/{dash}/data" in r.url and r.status == 200) as shown:
        walk.click("[data-test=open-dash]", "打开看板")
    widget = shown.value.json()["widgets"][0]
    page.locator(f"[data-widget={widget['id']}] canvas").first.wait_for()
    shot(page, "walk-dashboard")
    series = widget["option"]["series"][0]
    assert series["type"] == "pie"
    assert {d["name"]: d["value"] for d in series["data"]} == {"合格": 2, "不合格": 1}
    assert "{d}%" in str(series.get("label", {}).get("formatter", "")) or "%" in str(series.get("label"))
    legend = widget["option"].get("legend", {})
    assert not legend or set(legend.get("data") or ["合格", "不合格"]) >= {"合格", "不合格"}

    # (not counted) 设置审批 on a form that has its flow opens that flow, not an empty new one
    page.goto(f"{base}/#/design/form/{form}")
    page.click("[data-test=form-to-flow]")
    page.wait_for_url(re.compile(r".*/design/flow/\w+$"))
    expect(page.locator("[data-test=flow-label]")).to_have_value("来料检验记录审批")

    seconds = time.monotonic() - started
    print(f"\nno-code walk: {walk.actions} actions, {seconds:.0f} s")
    for n, s in enumerate(walk.steps, start=1):
        print(f"  {n:2d}. {s}")
    assert walk.actions <= CEILING, f"{walk.actions} actions (it took {CEILING}): {walk.steps}"
    if walk.actions > TARGET:
        pytest.xfail(f"the walk takes {walk.actions} UI actions, the target is {TARGET} (docs/benchmarks.md)")
