"""The inbox lets an approver decide (issue 20 item 6) and the timeline reads in Chinese (item 5): a quality
manager sees each task with the record's key fields in words, approves one from the list with an opinion,
approves two tasks of the same step together (批量审批) and reads the per-task result; the inspector
reminds the approvers (催办) of a request she started and a second reminder within the hour is refused
in words; the manager decides that one from its detail (record, progress, opinion); the record's
timeline reads as sentences. On a server of its own (its own form, flow and
people), so nothing here depends on the demo content."""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_inbox_decide import FLOW, FORM, PEOPLE  # noqa: F401  (flow_server's)
from tests.ui.conftest import UserApi as Api
from tests.ui.conftest import login, shot


@pytest.fixture(scope="module")
def desk(flow_server: str) -> str:
    """The server of this module (tests/ui/conftest.py ``flow_server``: PEOPLE, FORM and FLOW of the inbox tests)."""
    return flow_server


def _submit(api: Api, batch: str, verdict: str = "ng") -> dict[str, Any]:
    me = api.call("get", "/api/auth/me")["id"]
    rec = api.call("post", "/api/records/incoming_check", {"batch": batch, "item_code": "MAT-7", "cost": "88.00",
                                                          "verdict": verdict, "inspector": me})
    api.call("post", "/api/workflows/incoming_review/start", {"record_id": rec["id"]})
    return rec


def test_approve_from_the_list_batch_approve_remind_and_read_the_timeline(page, desk: str) -> None:
    insp = Api(desk, "insp1")
    one = _submit(insp, "B-100")
    _submit(insp, "B-101")
    _submit(insp, "B-102")

    login(page, desk, "qm1", "qm1-pass-1")
    page.goto(desk + "/#/inbox")
    card = page.locator("[data-task]").filter(has_text="B-100")
    card.wait_for()
    # the record's key fields in words: option label and the inspector's name, not "ng" or a user id
    fields = card.locator("[data-test=task-record]")
    assert fields.locator("[data-field=verdict]").inner_text().split() == ["判定", "不合格"]
    assert "检验员小王" in fields.locator("[data-field=inspector]").inner_text()
    assert "索赔金额" not in card.inner_text()            # hidden from the quality managers
    shot(page, "inbox-decide")

    # approve one from the list with an opinion
    card.locator("[data-action=approve]").click()
    page.fill("[data-test=opinion]", "外观合格，同意让步接收")
    page.click("[data-test=confirm-action]")
    card.wait_for(state="detached")

    # the other two of the same step together, one opinion, a result per task
    for batch in ("B-101", "B-102"):
        page.locator("[data-task]").filter(has_text=batch).locator("[data-test=pick]").click()
    page.locator("[data-test=batch-bar]").get_by_text("已选 2 项").wait_for()
    page.click("[data-test=batch-approve]")
    page.fill("[data-test=batch-opinion]", "同批次，一并同意")
    page.click("[data-test=batch-confirm]")
    results = page.locator("[data-test=batch-results]")
    results.get_by_text("2 项已全部处理").wait_for()
    assert results.locator("[data-result=ok]").count() == 2
    page.click("[data-test=batch-close]")
    page.get_by_text("没有待办").wait_for()
    for inst in insp.call("get", "/api/tasks", box="started")["items"]:
        assert inst["instance"]["status"] == "approved"

    # the inspector reminds the approvers of a new request; again within the hour is refused in words
    _submit(insp, "B-103")
    page.click("text=退出")
    login(page, desk, "insp1", "insp1-pass-1")
    page.goto(desk + "/#/inbox")
    page.get_by_role("tab", name="我发起的").click()
    mine = page.locator("[data-test=inbox-item]").filter(has_text="B-103")
    mine.locator("[data-test=waiting-for]", has_text="质量经理老陈").wait_for()
    mine.locator("[data-action=remind]").click()
    page.get_by_text("已催办 质量经理老陈、质量经理小李").wait_for()
    mine.locator("[data-action=remind]").click()
    page.get_by_text("之后再催办").wait_for()

    # the manager decides it from the detail: the record, the progress in words (with the reminder), an opinion
    page.click("text=退出")
    login(page, desk, "qm1", "qm1-pass-1")
    page.goto(desk + "/#/inbox")
    # on a phone the card wraps: nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("[data-task]").filter(has_text="B-103").locator("[data-field=verdict]").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "inbox-phone")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.locator("[data-task]").filter(has_text="B-103").locator("[data-action=detail]").click()
    drawer = page.locator(".el-drawer")
    drawer.locator("[data-test=timeline-item]").filter(has_text="检验员小王 催办 质量经理老陈、质量经理小李").wait_for()
    shot(page, "inbox-detail")
    drawer.locator("[data-test=detail-opinion]").fill("已复核，同意")
    drawer.locator("[data-test=detail-approve]").click()
    page.get_by_text("没有待办").wait_for()
    assert insp.call("get", "/api/tasks", box="started")["items"][0]["instance"]["status"] == "approved"

    # the timeline of the first record, in sentences
    page.goto(desk + f"/#/f/incoming_check/{one['id']}")
    page.get_by_role("tab", name="时间线").click()
    line = page.locator("[data-test=timeline-item]")
    line.filter(has_text="流程结束：通过").wait_for()
    text = " ".join(line.all_inner_texts())
    for words in ("检验员小王 新建记录", "检验员小王 提交审批", "条件「不合格」成立", "进入「质量经理审批」，待 质量经理老陈、质量经理小李 审批",
                  "质量经理老陈 同意：外观合格，同意让步接收", "流程结束：通过"):
        assert words in text, (words, text)
    for raw in ("node_enter", "branch", "finished", "qm_review", "by_verdict"):
        assert raw not in text
    shot(page, "timeline-words")
