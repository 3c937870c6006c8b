"""Approval features Chinese plants expect (issue 20 item 10), through the API on both databases:
发起人自选, 审批人去重, 代理人 and 离职交接, comments required to reject/return, weighted votes (票签),
returns to any node, handwritten signatures, sub-processes (子流程) and revocation (撤销)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.wf_helpers import Plant

REQ = {"format": "mom.form/1", "name": "appr_req", "label": {"zh-CN": "费用申请", "en": "Expense request"},
       "fields": [{"id": "f1", "key": "title", "type": "text", "label": {"zh-CN": "事由", "en": "Title"}, "required": True},
                  {"id": "f2", "key": "amount", "type": "decimal", "label": {"zh-CN": "金额", "en": "Amount"}, "scale": 2},
                  {"id": "f3", "key": "note", "type": "text", "label": {"zh-CN": "备注", "en": "Note"}}],
       "permissions": [{"role": "qc_inspector", "actions": ["create", "read", "update"]},
                       {"role": "qc_manager", "actions": ["read"]}]}
CHILD = {**REQ, "name": "appr_child", "label": {"zh-CN": "整改单", "en": "Corrective action"},
         "permissions": [{"role": "qc_inspector", "actions": ["create", "read", "update"]}]}


def approval(nid: str, *users: str, **more: Any) -> dict[str, Any]:
    return {"id": nid, "type": "approval", "label": {"zh-CN": f"节点{nid}", "en": nid},
            "assignees": [{"type": "user", "users": list(users)}], "mode": "all", **more}


def flow(name: str, *nodes: dict[str, Any], form: str = "appr_req", **more: Any) -> dict[str, Any]:
    return {"format": "mom.workflow/1", "name": name, "label": {"zh-CN": name, "en": name}, "form": form,
            "nodes": list(nodes), **more}


@pytest.fixture
def desk(plant: Plant) -> Plant:
    for form in (REQ, CHILD):
        r = plant.client.put(f"/api/forms/{form['name']}", json=form, headers=plant.h("admin"))
        assert r.status_code == 200, r.text
    return plant


def request(p: Plant, amount: float = 100, form: str = "appr_req") -> int:
    r = p.client.post(f"/api/records/{form}", json={"title": "出差", "amount": amount}, headers=p.h("qc1"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def submit(p: Plant, name: str, rid: int, expect: int = 201, **body: Any) -> dict[str, Any]:
    r = p.client.post(f"/api/workflows/{name}/start", json={"record_id": rid, **body}, headers=p.h("qc1"))
    assert r.status_code == expect, r.text
    return r.json()


def test_initiator_chooses_approvers_within_the_node_s_candidates(desk: Plant) -> None:
    desk.put_flow(flow("pick", {"id": "pick_node", "type": "approval", "label": {"zh-CN": "自选审批人", "en": "Chosen"},
                                "assignees": [{"type": "chosen", "max": 2, "roles": ["quality_engineer", "qc_manager"]}],
                                "mode": "all"}))
    offer = desk.client.get("/api/workflows/pick/choices", headers=desk.h("qc1")).json()
    assert [o["node_id"] for o in offer] == ["pick_node"] and offer[0]["max"] == 2
    assert {c["username"] for c in offer[0]["candidates"]} == {"qe1", "qe2", "qcm"}
    rid = request(desk)
    err = submit(desk, "pick", rid, 422)
    assert err["problems"][0]["path"] == "/approvers/pick_node" and "请为「自选审批人」选择审批人" in err["problems"][0]["message"]["zh-CN"]
    assert "最多选 2 人" in submit(desk, "pick", rid, 422, approvers={"pick_node": ["qe1", "qe2", "qcm"]})["message"]["zh-CN"]
    assert "pm" in submit(desk, "pick", rid, 422, approvers={"pick_node": ["pm"]})["problems"][0]["message"]["zh-CN"]
    assert submit(desk, "pick", rid, 422, approvers={"other": ["qe1"]})["problems"][0]["path"] == "/approvers/other"
    assert desk.client.get("/api/workflow-instances", params={"form": "appr_req", "record_id": rid},
                           headers=desk.h("admin")).json() == []          # nothing was written by the refusals
    inst = submit(desk, "pick", rid, approvers={"pick_node": ["qe2", "qcm"]})
    assert desk.todo("qe1") == []
    desk.act("qe2", desk.task_of("qe2", inst["id"])["id"], "approve")
    assert desk.act("qcm", desk.task_of("qcm", inst["id"])["id"], "approve")["instance"]["status"] == "approved"


def test_a_long_candidate_list_is_searched_on_the_server(desk: Plant, monkeypatch: Any) -> None:
    """More candidates than one list holds: the answer says ``more`` and a part of a name finds the rest."""
    from mom.engines.workflow import choice
    monkeypatch.setattr(choice, "MAX_CANDIDATES", 2)
    desk.put_flow(flow("pick", {"id": "pick_node", "type": "approval", "label": {"zh-CN": "自选审批人", "en": "Chosen"},
                                "assignees": [{"type": "chosen", "max": 2, "roles": ["quality_engineer", "qc_manager"]}],
                                "mode": "all"}))
    first = desk.client.get("/api/workflows/pick/choices", headers=desk.h("qc1")).json()[0]
    assert first["more"] is True and len(first["candidates"]) == 2
    found = desk.client.get("/api/workflows/pick/choices", params={"q": "QE2", "node": "pick_node"}, headers=desk.h("qc1")).json()
    assert [c["username"] for c in found[0]["candidates"]] == ["qe2"] and found[0]["more"] is False
    assert desk.client.get("/api/workflows/pick/choices", params={"q": "x" * 51}, headers=desk.h("qc1")).status_code == 422
    assert desk.client.get("/api/workflows/pick/choices", params={"node": "other"}, headers=desk.h("qc1")).json() == []


def test_an_approver_who_approved_earlier_passes_later_nodes_when_the_flow_dedupes(desk: Plant) -> None:
    nodes = (approval("first", "qe1"), approval("second", "qe1", "qcm"))
    desk.put_flow(flow("dedupe", *nodes, dedupe_approvers=True))
    desk.put_flow(flow("nodedupe", *nodes))
    inst = submit(desk, "dedupe", request(desk))
    desk.act("qe1", desk.task_of("qe1", inst["id"])["id"], "approve")
    assert desk.todo("qe1") == []                                        # second node: passed for qe1 at once
    full = desk.instance(inst["id"])
    assert "dedupe_pass" in [e["action"] for e in full["timeline"]]
    assert desk.act("qcm", desk.task_of("qcm", inst["id"])["id"], "approve")["instance"]["status"] == "approved"
    other = submit(desk, "nodedupe", request(desk))
    desk.act("qe1", desk.task_of("qe1", other["id"])["id"], "approve")
    assert desk.task_of("qe1", other["id"])["node_id"] == "second"      # without it: asked again


def behalf(p: Plant, user: str, task_id: int) -> Any:
    """Whom ``user`` acts for on the task (代 X 审批), as the decision dialog reads it."""
    r = p.client.get(f"/api/tasks/{task_id}/options", headers=p.h(user))
    assert r.status_code == 200, r.text
    return r.json()["on_behalf_of"]


def _period(days: float = 1) -> dict[str, str]:
    now = dt.datetime.now(dt.timezone.utc)
    return {"starts_at": (now - dt.timedelta(minutes=1)).isoformat(), "ends_at": (now + dt.timedelta(days=days)).isoformat()}


def test_out_of_office_proxy_gets_new_tasks_and_acts_for_the_user(desk: Plant) -> None:
    c, h = desk.client, desk.h
    assert c.post("/api/workflow-proxies", json={"proxy": "qe1", **_period()}, headers=h("qe1")).status_code == 422
    assert c.post("/api/workflow-proxies", json={"proxy": "qe2", "user": "qe1", **_period()}, headers=h("qc1")).status_code == 403
    assert c.post("/api/workflow-proxies", json={"proxy": "qe2", **_period(400)}, headers=h("qe1")).status_code == 422
    r = c.post("/api/workflow-proxies", json={"proxy": "qe2", **_period()}, headers=h("qe1"))
    assert r.status_code == 201, r.text
    assert r.json()["proxy"] == "qe2" and r.json()["user"] == "qe1"
    assert c.post("/api/workflow-proxies", json={"proxy": "pm", **_period()}, headers=h("qe1")).status_code == 409   # overlaps
    assert [p["proxy"] for p in c.get("/api/workflow-proxies", headers=h("qe2")).json()] == ["qe2"]
    desk.put_flow(flow("one", approval("only", "qe1")))
    inst = submit(desk, "one", request(desk))
    assert desk.todo("qe1") == []
    task = desk.task_of("qe2", inst["id"])
    assert behalf(desk, "qe2", task["id"]) == "质量工程师小赵"                 # 代 小赵 审批
    assert desk.act("qe2", task["id"], "approve")["instance"]["status"] == "approved"
    # the proxy period removed: new tasks go to qe1 again; someone else cannot remove it
    pid = r.json()["id"]
    assert c.delete(f"/api/workflow-proxies/{pid}", headers=h("qe2")).status_code == 403
    assert c.delete(f"/api/workflow-proxies/{pid}", headers=h("qe1")).status_code == 204
    again = submit(desk, "one", request(desk))
    assert behalf(desk, "qe1", desk.task_of("qe1", again["id"])["id"]) is None


def test_an_administrator_hands_all_open_tasks_of_a_leaver_to_someone_else(desk: Plant) -> None:
    desk.put_flow(flow("one", approval("only", "qe1")))
    insts = [submit(desk, "one", request(desk))["id"] for _ in range(2)]
    body = {"from": "qe1", "to": "qe2", "comment": "小赵离职"}
    assert desk.client.post("/api/admin/workflow-handover", json=body, headers=desk.h("qcm")).status_code == 403
    assert desk.client.post("/api/admin/workflow-handover", json={**body, "to": "qe1"}, headers=desk.h("admin")).status_code == 422
    r = desk.client.post("/api/admin/workflow-handover", json=body, headers=desk.h("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == 2 and r.json()["instances"] == sorted(insts)
    assert desk.todo("qe1") == []
    mine = {t["instance_id"]: t for t in desk.todo("qe2")}
    assert set(mine) == set(insts) and all(behalf(desk, "qe2", t["id"]) == "质量工程师小赵" for t in mine.values())
    assert "handover" in [e["action"] for e in desk.instance(insts[0])["timeline"]]
    assert desk.act("qe2", mine[insts[0]]["id"], "approve")["instance"]["status"] == "approved"


def test_a_node_can_require_a_comment_to_reject_or_return(desk: Plant) -> None:
    desk.put_flow(flow("strict", approval("check", "qe1", comment_required=["reject", "return"])))
    inst = submit(desk, "strict", request(desk))
    tid = desk.task_of("qe1", inst["id"])["id"]
    for action in ("reject", "return"):
        err = desk.act("qe1", tid, action, 422, comment="  ")
        assert err["problems"][0]["path"] == "/comment" and "必须填写审批意见" in err["message"]["zh-CN"]
    assert desk.task_of("qe1", inst["id"])["status"] == "pending"        # nothing was decided
    opts = desk.client.get(f"/api/tasks/{tid}/options", headers=desk.h("qe1")).json()
    assert opts["comment_required"] == ["reject", "return"]
    assert desk.act("qe1", tid, "reject", comment="金额不对")["instance"]["status"] == "rejected"
    other = submit(desk, "strict", request(desk))
    assert desk.act("qe1", desk.task_of("qe1", other["id"])["id"], "approve")["instance"]["status"] == "approved"


def test_weighted_votes_pass_at_the_threshold_and_reject_when_it_is_out_of_reach(desk: Plant) -> None:
    vote = {"id": "board", "type": "approval", "label": {"zh-CN": "评审组票签", "en": "Board vote"}, "mode": "vote",
            "assignees": [{"type": "user", "users": ["qcm"], "weight": 3}, {"type": "user", "users": ["qe1", "qe2"]}],
            "pass_weight": 3}
    desk.put_flow(flow("vote", vote))
    a = submit(desk, "vote", request(desk))
    assert desk.act("qcm", desk.task_of("qcm", a["id"])["id"], "approve")["instance"]["status"] == "approved"   # 3 of 3
    b = submit(desk, "vote", request(desk))
    desk.act("qe1", desk.task_of("qe1", b["id"])["id"], "approve")
    assert desk.act("qe2", desk.task_of("qe2", b["id"])["id"], "approve")["instance"]["status"] == "running"   # 2 < 3
    assert desk.act("qcm", desk.task_of("qcm", b["id"])["id"], "reject")["instance"]["status"] == "rejected"   # 5-3 < 3
    ratio = {**vote, "pass_ratio": 0.5}
    ratio.pop("pass_weight")
    desk.put_flow(flow("vote_ratio", ratio))
    c = submit(desk, "vote_ratio", request(desk))
    assert desk.act("qcm", desk.task_of("qcm", c["id"])["id"], "approve")["instance"]["status"] == "approved"  # 3/5 ≥ 0.5
    bad = {**vote, "mode": "all"}
    assert desk.put_flow(flow("bad_vote", bad), expect=422)["problems"][0]["path"] == "/nodes/0/pass_weight"


def test_return_to_a_node_not_yet_visited_where_the_node_allows_it(desk: Plant) -> None:
    big = {"id": "by_amount", "type": "condition", "branches": [
        {"label": "大额", "when": "amount > 10000", "nodes": [approval("extra", "qcm")]}, {"else": True, "nodes": []}]}
    desk.put_flow(flow("anyret", approval("first", "qe1"), big, approval("final", "pm", return_to_any=True),
                       approval("strict_final", "qe2")))
    inst = submit(desk, "anyret", request(desk, amount=100))
    desk.act("qe1", desk.task_of("qe1", inst["id"])["id"], "approve")
    tid = desk.task_of("pm", inst["id"])["id"]
    opts = desk.client.get(f"/api/tasks/{tid}/options", headers=desk.h("pm")).json()
    assert [o["target"] for o in opts["return_targets"]] == ["initiator", "first", "extra", "final", "strict_final"]
    desk.act("pm", tid, "return", target="extra", comment="请质量经理补充意见")
    desk.act("qcm", desk.task_of("qcm", inst["id"])["id"], "approve")       # never visited before: asked now
    desk.act("pm", desk.task_of("pm", inst["id"])["id"], "approve")          # and the flow goes on from there
    assert desk.task_of("qe2", inst["id"])["node_id"] == "strict_final"
    other = submit(desk, "anyret", request(desk, amount=100))
    desk.act("qe1", desk.task_of("qe1", other["id"])["id"], "approve")
    desk.act("pm", desk.task_of("pm", other["id"])["id"], "approve")
    tid2 = desk.task_of("qe2", other["id"])["id"]
    err = desk.act("qe2", tid2, "return", 422, target="extra")               # this node returns to visited ones only
    assert err["problems"][0]["path"] == "/target"
    assert desk.act("qe2", tid2, "return", target="first")["instance"]["status"] == "running"


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _upload(p: Plant, user: str, data: bytes, name: str = "签名.png", kind: str = "image/png") -> str:
    r = p.client.post("/api/attachments", files={"file": (name, data, kind)}, headers=p.h(user))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_handwritten_signature_is_stored_with_the_decision_under_the_record_s_permissions(desk: Plant) -> None:
    desk.put_flow(flow("signed", approval("sign", "qe1", signature="required")))
    inst = submit(desk, "signed", request(desk))
    tid = desk.task_of("qe1", inst["id"])["id"]
    assert "手写签名" in desk.act("qe1", tid, "approve", 422)["message"]["zh-CN"]
    assert desk.act("qe1", tid, "approve", 422, signature=_upload(desk, "qe1", b"hello", "a.txt", "text/plain"))["problems"][0]["code"] == "type"
    assert desk.act("qe1", tid, "approve", 422, signature=_upload(desk, "qe2", PNG))["problems"][0]["code"] == "not_yours"
    big = _upload(desk, "qe1", PNG + b"\0" * (301 * 1024))
    assert desk.act("qe1", tid, "approve", 422, signature=big)["problems"][0]["code"] == "too_large"
    token = _upload(desk, "qe1", PNG)
    out = desk.act("qe1", tid, "approve", signature=token, comment="同意")
    assert out["instance"]["status"] == "approved"
    full = desk.instance(inst["id"], user="qc1")
    assert [e["data"]["signature"] for e in full["timeline"] if e["action"] == "approve"] == [token]
    assert desk.client.get(f"/api/attachments/{token}", headers=desk.h("qc1")).content == PNG   # the initiator sees it
    assert desk.client.get(f"/api/attachments/{token}", headers=desk.h("qcm")).status_code == 200   # may read the record
    assert desk.client.get(f"/api/attachments/{token}", headers=desk.h("buyer")).status_code in (403, 404)


def test_a_sub_process_runs_on_another_form_and_the_parent_waits_for_it(desk: Plant) -> None:
    desk.put_flow(flow("child", approval("fix_check", "qcm"), form="appr_child"))
    sub = {"id": "corrective", "type": "subprocess", "label": {"zh-CN": "整改子流程", "en": "Corrective action"},
           "workflow": "child", "values": {"title": "'整改：' + title", "amount": "amount"}}
    desk.put_flow(flow("parent", approval("first", "qe1"), sub, approval("final", "pm")))
    inst = submit(desk, "parent", request(desk, amount=250))
    desk.act("qe1", desk.task_of("qe1", inst["id"])["id"], "approve")
    assert [n["id"] for n in desk.instance(inst["id"])["current_nodes"]] == ["corrective"]
    child_task = desk.todo("qcm")[0]
    assert child_task["form"] == "appr_child" and child_task["workflow"] == "child"
    rec = desk.client.get(f"/api/records/appr_child/{child_task['record_id']}", headers=desk.h("qc1")).json()
    assert rec["title"] == "整改：出差"                                     # created as the parent's initiator
    assert desk.todo("pm") == []                                           # the parent waits
    desk.act("qcm", child_task["id"], "approve")
    assert desk.task_of("pm", inst["id"])["node_id"] == "final"
    actions = [e["action"] for e in desk.instance(inst["id"])["timeline"]]
    assert "subprocess" in actions and "subprocess_done" in actions
    # a rejected sub-process rejects the parent
    other = submit(desk, "parent", request(desk))
    desk.act("qe1", desk.task_of("qe1", other["id"])["id"], "approve")
    desk.act("qcm", [t for t in desk.todo("qcm") if t["workflow"] == "child"][0]["id"], "reject")
    assert desk.instance(other["id"])["status"] == "rejected"


def test_an_approved_request_is_revoked_through_its_revoke_flow(desk: Plant) -> None:
    desk.put_flow(flow("leave_revoke", approval("agree", "qcm")))
    desk.put_flow(flow("leave", approval("boss", "qe1"), revoke_flow="leave_revoke"))
    desk.put_flow(flow("plain", approval("boss", "qe1")))
    inst = submit(desk, "leave", request(desk))
    url = f"/api/workflow-instances/{inst['id']}/revoke"
    assert desk.client.post(url, json={}, headers=desk.h("qc1")).status_code == 409        # still running
    desk.act("qe1", desk.task_of("qe1", inst["id"])["id"], "approve")
    assert desk.client.post(url, json={}, headers=desk.h("qe1")).status_code == 403        # not the initiator
    r = desk.client.post(url, json={"comment": "行程取消"}, headers=desk.h("qc1"))
    assert r.status_code == 201, r.text
    rev = r.json()
    assert rev["workflow"] == "leave_revoke" and rev["status"] == "running"
    assert desk.client.post(url, json={}, headers=desk.h("qc1")).status_code == 409        # one revocation at a time
    desk.act("qcm", desk.task_of("qcm", rev["id"])["id"], "approve")
    orig = desk.instance(inst["id"])
    assert orig["status"] == "revoked" and "revoked" in [e["action"] for e in orig["timeline"]]
    plain = submit(desk, "plain", request(desk))
    desk.act("qe1", desk.task_of("qe1", plain["id"])["id"], "approve")
    r = desk.client.post(f"/api/workflow-instances/{plain['id']}/revoke", json={}, headers=desk.h("qc1"))
    assert r.status_code == 409 and "不支持撤销" in r.json()["message"]["zh-CN"]


def test_new_keys_are_checked_when_a_flow_is_published(desk: Plant) -> None:
    cc_chosen = {"id": "copy", "type": "cc", "assignees": [{"type": "chosen"}]}
    err = desk.put_flow(flow("bad1", approval("a", "qe1"), cc_chosen), expect=422)
    assert err["problems"][0]["path"] == "/nodes/1/assignees/0/type"
    err = desk.put_flow(flow("bad2", {**approval("a", "qe1"), "mode": "vote"}), expect=422)
    assert err["problems"][0]["path"] == "/nodes/0/pass_ratio"
    err = desk.put_flow(flow("bad3", approval("a", "qe1", comment_required=["sometimes"])), expect=422)
    assert err["problems"][0]["path"].startswith("/nodes/0/comment_required")
    err = desk.put_flow(flow("bad4", {"id": "s", "type": "subprocess"}, approval("a", "qe1")), expect=422)
    assert {p["path"] for p in err["problems"]} >= {"/nodes/0/workflow", "/nodes/0/values"}


def test_proxies_handover_and_choices_from_the_command_line(desk: Plant, cli: Any) -> None:
    import json

    desk.put_flow(flow("one", approval("only", "qe1")))
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat()
    r = cli("workflow", "proxy", "set", "qe1", "qe2", "--until", until)
    assert r.exit_code == 0, r.output
    assert [p["proxy"] for p in json.loads(cli("workflow", "proxy", "list").output)] == ["qe2"]
    inst = submit(desk, "one", request(desk))
    assert desk.task_of("qe2", inst["id"])                                   # the proxy has it
    pid = json.loads(r.output)["id"]
    assert cli("workflow", "proxy", "remove", pid).exit_code == 0
    out = cli("workflow", "handover", "qe2", "pm", "--comment", "调岗")
    assert out.exit_code == 0 and json.loads(out.output)["moved"] == 1
    assert desk.task_of("pm", inst["id"])
    bad = cli("workflow", "handover", "qe2", "nobody")
    assert bad.exit_code != 0 and "nobody" in bad.output
    desk.put_flow(flow("pick", {"id": "p", "type": "approval", "assignees": [{"type": "chosen", "users": ["qe1", "qcm"]}]}))
    assert {c["username"] for c in json.loads(cli("workflow", "choices", "pick").output)[0]["candidates"]} == {"qe1", "qcm"}
    started = cli("workflow", "start", "pick", request(desk), "--user", "qc1", "--approvers", '{"p": ["qcm"]}')
    assert started.exit_code == 0, started.output
    assert [t["assignee_id"] for t in json.loads(started.output)["open_tasks"]] != []


def test_task_options_and_proxies_follow_who_asks(desk: Plant) -> None:
    desk.put_flow(flow("one", approval("only", "qe1")))
    inst = submit(desk, "one", request(desk))
    tid = desk.task_of("qe1", inst["id"])["id"]
    assert desk.client.get(f"/api/tasks/{tid}/options", headers=desk.h("qc1")).status_code == 403     # the initiator sees it, not theirs
    assert desk.client.get(f"/api/tasks/{tid}/options", headers=desk.h("buyer")).status_code == 404   # reveals nothing
    assert desk.client.get("/api/tasks/999999/options", headers=desk.h("qe1")).status_code == 404
    desk.client.post("/api/workflow-proxies", json={"proxy": "qe2", **_period()}, headers=desk.h("qe1"))
    assert desk.client.get("/api/workflow-proxies", params={"all": 1}, headers=desk.h("buyer")).json() == []   # only their own
    assert len(desk.client.get("/api/workflow-proxies", params={"all": 1}, headers=desk.h("admin")).json()) == 1
    pid = desk.client.get("/api/workflow-proxies", headers=desk.h("qe1")).json()[0]["id"]
    assert desk.client.delete(f"/api/workflow-proxies/{pid}", headers=desk.h("buyer")).status_code == 403
    bad = desk.client.post("/api/workflow-proxies", json={"proxy": "qe2", "ends_at": "明天"}, headers=desk.h("pm"))
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "/ends_at"
    assert desk.client.post("/api/workflow-proxies", json=[1], headers=desk.h("pm")).status_code == 422
