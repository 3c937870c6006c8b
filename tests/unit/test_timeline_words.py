"""The timeline in words (engines/workflow/timeline.py): every kind of step a flow writes reads as a
sentence in both languages, with names and labels, never an event code, node id or field key."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mom.engines.forms.model import FieldSpec
from mom.engines.workflow.spec import validate_workflow
from mom.engines.workflow.summary import value_text
from mom.engines.workflow.timeline import describe, user_ids

SPEC = validate_workflow({
    "format": "mom.workflow/1", "name": "iqc_review", "label": {"zh-CN": "来料评审", "en": "Incoming review"},
    "form": "iqc", "trigger": {"on": "submit"},
    "nodes": [
        {"id": "condition_1", "type": "condition", "branches": [
            {"label": {"zh-CN": "不合格", "en": "Failed"}, "when": "verdict == 'ng'", "nodes": [
                {"id": "approval_1", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "QM review"},
                 "assignees": [{"type": "user", "users": ["qm"]}]}]},
            {"when": "qty > 100", "nodes": [{"id": "approval_2", "type": "approval", "assignees": [{"type": "user", "users": ["qm"]}]}]},
            {"else": True, "nodes": []}]},
    ]})
NAMES = {1: "检验员小王", 2: "质量经理老陈", 3: "质量经理小李"}


def say(action: str, **e: object) -> dict[str, str]:
    return describe({"action": action, "actor_id": e.pop("actor_id", None), "node_id": e.pop("node_id", None),
                     "comment": e.pop("comment", None), "data": e.pop("data", None)}, SPEC, NAMES)


def test_each_step_is_a_sentence() -> None:
    assert say("start", actor_id=1, data={"trigger": "submit"})["zh-CN"] == "检验员小王 提交审批"
    assert say("branch", node_id="condition_1", data={"branch": {"zh-CN": "不合格", "en": "Failed"}}) == {
        "zh-CN": "条件「不合格」成立", "en": "Condition “Failed” held"}
    assert say("branch", data={"branch": {"zh-CN": "branch 2", "en": "branch 2"}})["zh-CN"] == "第 2 个条件成立"
    assert "其他情况" in say("branch", data={"branch": {"zh-CN": "其他", "en": "otherwise"}})["zh-CN"]
    assert say("node_enter", node_id="approval_1", data={"users": [2, 3]})["zh-CN"] == "进入「质量经理审批」，待 质量经理老陈、质量经理小李 审批"
    assert say("node_enter", node_id="approval_1", data={"users": [2], "proxies": {"2": 3}})["zh-CN"] == \
        "进入「质量经理审批」，待 质量经理小李（代 质量经理老陈） 审批"
    # a node without a label is called by its kind, not its id
    assert say("node_passed", node_id="approval_2")["zh-CN"] == "「审批」通过"
    assert say("approve", actor_id=2, node_id="approval_1", comment="同意让步") == {
        "zh-CN": "质量经理老陈 同意：同意让步", "en": "质量经理老陈 approved: 同意让步"}
    assert say("return", actor_id=2, node_id="approval_1", data={"target": "initiator"})["zh-CN"] == "质量经理老陈 退回给发起人"
    assert say("transfer", actor_id=2, data={"from": 2, "to": 3})["zh-CN"] == "质量经理老陈 转交给 质量经理小李"
    assert say("remind", actor_id=1, data={"users": [2, 3], "tasks": [7, 8]})["zh-CN"] == "检验员小王 催办 质量经理老陈、质量经理小李"
    assert say("finished", data={"outcome": "approved"}) == {"zh-CN": "流程结束：通过", "en": "Flow ended: approved"}
    assert say("finished", data={"outcome": "rejected"})["zh-CN"] == "流程结束：驳回"
    assert say("auto_pass", node_id="approval_1", comment="无审批人，自动通过 / no approver")["zh-CN"] == "「质量经理审批」没有审批人，自动通过"
    assert say("migrated", data={"from": 1, "to": 2})["zh-CN"] == "流程升级：第 1 版 → 第 2 版"


def test_no_step_shows_a_code() -> None:
    kinds = ["start", "node_enter", "node_passed", "node_rejected", "branch", "approve", "reject", "return", "transfer",
             "delegate", "delegate_done", "add_signer", "comment", "withdraw", "resubmit", "cancel", "cc", "actions",
             "end_node", "auto_pass", "finished", "timeout_remind", "timeout_escalate", "timeout_auto_approve",
             "timeout_auto_reject", "timeout_failed", "migrated", "remind", "no_approver", "dedupe_pass", "handover",
             "subprocess", "subprocess_done", "revoke_requested", "revoked", "something_new"]
    for kind in kinds:
        text = say(kind, actor_id=2, node_id="approval_1", data={"users": [3], "to": 3, "from": 2, "outcome": "approved",
                                                                  "reason": {"zh-CN": "部门没有负责人", "en": "no head"}})
        assert kind not in text["zh-CN"], (kind, text)          # English words may hold "approve" in "approved"
        for lang in ("zh-CN", "en"):
            assert text[lang] and "_" not in text[lang] and "approval_1" not in text[lang], (kind, text)
    assert user_ids([{"actor_id": 1, "action": "node_enter", "data": {"users": [2], "proxies": {"2": 3}}}]) == {1, 2, 3}


def test_values_in_words() -> None:
    def field(kind: str, **raw: object) -> FieldSpec:
        labels = {"ok": {"zh-CN": "合格", "en": "Pass"}, "ng": {"zh-CN": "不合格", "en": "Fail"}}
        return FieldSpec(id="f", key="k", type=kind, raw=raw, label={"zh-CN": "字段", "en": "Field"},
                         option_labels=labels if kind in ("select", "multi_select") else {})

    assert value_text(field("select"), "ng") == {"zh-CN": "不合格", "en": "Fail"}
    assert value_text(field("multi_select"), ["ok", "ng"]) == {"zh-CN": "合格、不合格", "en": "Pass, Fail"}
    assert value_text(field("boolean"), False) == {"zh-CN": "否", "en": "No"}
    assert value_text(field("user"), 2, {2: "质量经理老陈"})["zh-CN"] == "质量经理老陈"
    assert value_text(field("user"), 9, {})["zh-CN"] == "无权限查看"
    assert value_text(field("decimal"), Decimal("12.50"))["zh-CN"] == "12.50"
    assert value_text(field("decimal"), Decimal("12.00"))["zh-CN"] == "12"
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert value_text(field("datetime"), "2026-03-01T02:30:00Z", tz=shanghai)["zh-CN"] == "2026-03-01 10:30"
    assert value_text(field("text"), "") is None
