"""The NCR review flow end to end through the API: every node kind and every action."""
from __future__ import annotations

import copy
import json
import threading

from tests.conftest import ROOT
from tests.integration.wf_helpers import Plant

NCR_FLOW = json.loads((ROOT / "modelpacks/demo/workflows/ncr_review.json").read_text(encoding="utf-8"))


def test_small_ncr_goes_through_review_cc_and_action(plant: Plant) -> None:
    rec = plant.ncr(cost=3000)
    inst = plant.start(rec["id"])
    assert inst["status"] == "running" and [n["id"] for n in inst["current_nodes"]] == ["qe_review"]
    # or-sign: both quality engineers see the task
    t1, t2 = plant.task_of("qe1", inst["id"]), plant.task_of("qe2", inst["id"])
    assert t1["node_label"]["zh-CN"] == "质量工程师评审"
    # the approver may change the field the node allows, in the same step
    out = plant.act("qe1", t1["id"], "approve", comment="同意返工", values={"disposition": "rework"})
    assert out["instance"]["status"] == "approved"
    assert plant.todo("qe2") == []                       # the other or-sign task is gone
    rec2 = plant.client.get(f"/api/records/ncr/{rec['id']}", headers=plant.h("qc1")).json()
    assert rec2["disposition"] == "rework" and rec2["approval_state"] == "approved"   # action node wrote back
    # the owner (a user field of the record) was copied
    cc = plant.client.get("/api/tasks", params={"box": "cc"}, headers=plant.h("buyer")).json()
    assert [i["instance_id"] for i in cc["items"]] == [inst["id"]] and cc["counts"]["cc_unread"] == 1
    full = plant.instance(inst["id"])
    actions = [e["action"] for e in full["timeline"]]
    assert actions[0] == "start" and "approve" in actions and "cc" in actions and actions[-1] == "finished"
    assert plant.client.get("/api/tasks", params={"box": "done"}, headers=plant.h("qe1")).json()["counts"]["done"] == 1
    # the initiator was told
    notes = plant.client.get("/api/notifications", headers=plant.h("qc1")).json()
    assert any("已通过" in n["title"] for n in notes["items"])


def test_costly_ncr_needs_countersign_of_both_managers(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["managers"]
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")
    assert plant.instance(inst["id"])["status"] == "running"          # 会签: one is not enough
    out = plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    assert out["instance"]["status"] == "approved"


def test_reject_ends_the_flow_and_unlocks_the_record(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    out = plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "reject", comment="金额有误")
    assert out["instance"]["status"] == "rejected"
    assert plant.todo("pm") == []
    r = plant.edit(f"/api/records/ncr/{rec['id']}", {"cost": 20000}, "qc1")
    assert r.status_code == 200


def test_record_is_locked_during_approval_except_editable_fields(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    url = f"/api/records/ncr/{rec['id']}"
    r = plant.edit(url, {"cost": 1}, "qc1")
    assert r.status_code == 409 and "锁定" in r.json()["message"]["zh-CN"]
    assert plant.edit(url, {"title": "x"}, "qe1").status_code == 409
    assert plant.edit(url, {"disposition": "scrap"}, "qe1").status_code == 200
    assert plant.client.delete(url, headers=plant.h("admin")).status_code == 409
    # a second submission of the same record is refused
    r = plant.client.post("/api/workflows/ncr_review/start", json={"record_id": rec["id"]}, headers=plant.h("qc1"))
    assert r.status_code == 409 and r.json()["detail"]["instance_id"] == inst["id"]


def test_two_or_sign_approvers_at_the_same_moment_give_one_outcome(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    tasks = {u: plant.task_of(u, inst["id"])["id"] for u in ("qe1", "qe2")}
    heads = {u: plant.h(u) for u in tasks}
    barrier, codes = threading.Barrier(2), {}

    def go(user: str) -> None:
        barrier.wait()
        codes[user] = plant.client.post(f"/api/tasks/{tasks[user]}/approve", json={}, headers=heads[user]).status_code

    threads = [threading.Thread(target=go, args=(u,)) for u in tasks]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(codes.values()) == [200, 409]
    full = plant.instance(inst["id"])
    assert full["status"] == "approved"
    assert [e["action"] for e in full["timeline"]].count("node_passed") == 1
    assert [t["status"] for t in full["tasks"] if t["node_id"] == "qe_review"].count("approved") == 1


def test_nobody_acts_on_a_task_that_is_not_theirs(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    tid = plant.task_of("qe1", inst["id"])["id"]
    for user in ("qc1", "pm", "admin"):
        plant.act(user, tid, "approve", expect=403)
    plant.act("qe1", 999999, "approve", expect=404)
    plant.act("qe1", tid, "dance", expect=404)
    assert plant.instance(inst["id"])["status"] == "running"


def test_transfer_hands_the_task_over(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    tid = plant.task_of("pm", inst["id"])["id"]
    plant.act("pm", tid, "transfer", to="planner", comment="我出差，转计划员")
    assert plant.todo("pm") == [] and plant.task_of("planner", inst["id"])["id"] == tid
    plant.act("pm", tid, "approve", expect=403)
    plant.act("planner", tid, "approve")
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    assert plant.instance(inst["id"])["status"] == "approved"
    plant.act("qe1", tid, "transfer", expect=403, to="qe2")


def test_delegate_comes_back_to_the_delegator(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    tid = plant.task_of("qe1", inst["id"])["id"]
    plant.act("qe1", tid, "delegate", to="qcm", comment="请经理先看看")
    assert [t for t in plant.todo("qe1") if t["instance_id"] == inst["id"]] == []
    d = plant.task_of("qcm", inst["id"])
    assert d["kind"] == "delegate"
    out = plant.act("qcm", d["id"], "approve", comment="可以返工")
    assert out["instance"]["status"] == "running"           # the delegate's answer does not decide
    assert plant.task_of("qe1", inst["id"])["id"] == tid     # back with the delegator
    assert plant.act("qe1", tid, "approve")["instance"]["status"] == "approved"


def test_add_signer_before_and_after(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    tid = plant.task_of("qe1", inst["id"])["id"]
    plant.act("qe1", tid, "add_signer", to="pm", position="before")      # 前加签: pm first
    plant.act("qe1", tid, "approve", expect=409)                          # qe1 waits
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")
    plant.act("qe1", tid, "add_signer", to="qcm", position="after")       # 后加签: qcm after qe1
    out = plant.act("qe1", tid, "approve")
    assert out["instance"]["status"] == "running"
    assert plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")["instance"]["status"] == "approved"
    plant.act("qe1", tid, "add_signer", expect=409, to="pm")


def test_withdraw_only_while_nobody_acted(plant: Plant) -> None:
    rec = plant.ncr()
    inst = plant.start(rec["id"])
    assert plant.client.post(f"/api/workflow-instances/{inst['id']}/withdraw", headers=plant.h("qe1")).status_code == 403
    r = plant.client.post(f"/api/workflow-instances/{inst['id']}/withdraw", json={"comment": "填错了"}, headers=plant.h("qc1"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert plant.todo("qe1") == []
    inst2 = plant.start(rec["id"])                                         # can be submitted again
    plant.act("qe1", plant.task_of("qe1", inst2["id"])["id"], "comment", comment="我看一下")
    rec2 = plant.ncr(cost=25000)
    inst3 = plant.start(rec2["id"])
    plant.act("qe1", plant.task_of("qe1", inst3["id"])["id"], "approve")
    r = plant.client.post(f"/api/workflow-instances/{inst3['id']}/withdraw", headers=plant.h("qc1"))
    assert r.status_code == 409


def test_return_to_initiator_then_resubmit_resumes_at_the_returning_node(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    out = plant.act("pm", plant.task_of("pm", inst["id"])["id"], "return", target="initiator", resume="back", comment="补充照片")
    assert out["instance"]["status"] == "returned" and plant.todo("qcm") == []
    # returned: the initiator may edit again
    url = f"/api/records/ncr/{rec['id']}"
    assert plant.edit(url, {"title": "阀体砂眼（附照片）"}, "qc1").status_code == 200
    r = plant.client.post(f"/api/workflow-instances/{inst['id']}/resubmit", headers=plant.h("qc1"))
    assert r.status_code == 200 and [n["id"] for n in r.json()["current_nodes"]] == ["managers"]   # qe_review skipped
    assert plant.todo("qe1") == []


def test_return_to_previous_node_restarts_from_there(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "return", target="previous")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["qe_review"]
    assert plant.todo("pm") == []
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["managers"]
    r = plant.client.post(f"/api/tasks/{plant.task_of('pm', inst['id'])['id']}/return", json={"target": "nowhere"}, headers=plant.h("pm"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/target"


def test_return_to_a_visited_node_and_come_back(plant: Plant) -> None:
    rec = plant.ncr(cost=25000)
    inst = plant.start(rec["id"])
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "return", target="qe_review", resume="back")
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["managers"]


def _flow(**over: object) -> dict:
    d = copy.deepcopy(NCR_FLOW)
    d.update(over)
    return d


def test_vote_parallel_and_self_approval(plant: Plant) -> None:
    flow = _flow(name="ncr_vote", self_approval="auto_pass", nodes=[
        {"id": "board", "type": "approval", "mode": "vote", "pass_ratio": 0.6,
         "assignees": [{"type": "user", "users": ["qe1", "qe2", "pm"]}]},
        {"id": "both", "type": "parallel", "branches": [
            {"nodes": [{"id": "quality", "type": "approval", "assignees": [{"type": "user", "users": ["qcm"]}]}]},
            {"nodes": [{"id": "me", "type": "approval", "assignees": [{"type": "initiator"}]}]}]},
        {"id": "final", "type": "approval", "assignees": [{"type": "department_head", "levels": 1}]}])
    plant.put_flow(flow)
    rec = plant.ncr()
    inst = plant.start(rec["id"], flow="ncr_vote")
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "reject")
    assert plant.instance(inst["id"])["status"] == "running"          # 1 of 3, 1 against: 0.6 still reachable
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")  # 2/3 >= 0.6
    full = plant.instance(inst["id"])
    # parallel: the initiator's own branch passed by itself (self-approval auto_pass); qcm's still waits
    assert [n["id"] for n in full["current_nodes"]] == ["quality"]
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    # joined; qc1 is in QC-IQC (no head) -> the parent department QC's head, qcm
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["final"]
    assert plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")["instance"]["status"] == "approved"


def test_vote_rejects_when_the_ratio_is_out_of_reach(plant: Plant) -> None:
    plant.put_flow(_flow(name="ncr_vote2", nodes=[{"id": "board", "type": "approval", "mode": "vote", "pass_ratio": 0.6,
                                                    "assignees": [{"type": "user", "users": ["qe1", "qe2", "pm"]}]}]))
    inst = plant.start(plant.ncr()["id"], flow="ncr_vote2")
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "reject")
    assert plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "reject")["instance"]["status"] == "rejected"


def test_self_approval_skip_and_empty_node(plant: Plant) -> None:
    plant.put_flow(_flow(name="ncr_self", self_approval="skip", nodes=[
        {"id": "me", "type": "approval", "assignees": [{"type": "initiator"}]},
        {"id": "nobody", "type": "approval", "assignees": [{"type": "role", "roles": ["planner"]}], "on_empty": "auto_pass"},
        {"id": "stop", "type": "condition", "branches": [{"when": "qty > 100", "nodes": [{"id": "no", "type": "end", "outcome": "rejected"}]}]}]))
    inst = plant.start(plant.ncr(user="qc1", qty=500)["id"], flow="ncr_self")
    # skip -> nobody left on "me" -> passes; planner acts on "nobody"; qty > 100 -> end rejected
    plant.act("planner", plant.task_of("planner", inst["id"])["id"], "approve")
    assert plant.instance(inst["id"])["status"] == "rejected"


def test_changing_a_flow_keeps_running_instances_on_their_version(plant: Plant) -> None:
    rec_old = plant.ncr(cost=25000)
    old = plant.start(rec_old["id"])
    v2 = _flow()
    v2["nodes"] = [{"id": "director", "type": "approval", "assignees": [{"type": "user", "users": ["admin"]}]}]
    assert plant.put_flow(v2)["version"] == 2
    assert plant.put_flow(v2)["changed"] is False
    plant.act("qe1", plant.task_of("qe1", old["id"])["id"], "approve")       # v1 nodes still run
    assert [n["id"] for n in plant.instance(old["id"])["current_nodes"]] == ["managers"]
    new = plant.start(plant.ncr()["id"])
    assert new["version"] == 2 and [n["id"] for n in new["current_nodes"]] == ["director"]
    # migration: previewed, and refused for instances waiting at nodes that v2 lacks
    r = plant.client.post("/api/workflows/ncr_review/migrate", json={"from_version": 1}, headers=plant.h("admin"))
    assert r.status_code == 200 and r.json()["blocked"] == 1 and "managers" in r.json()["instances"][0]["reason"]
    v3 = copy.deepcopy(NCR_FLOW)
    v3["nodes"][0]["label"] = {"zh-CN": "质量工程师复核", "en": "QE check"}
    plant.put_flow(v3)
    r = plant.client.post("/api/workflows/ncr_review/migrate", json={"from_version": 1, "to_version": 3, "apply": True},
                          headers=plant.h("admin"))
    assert r.json()["moved"] == [old["id"]]
    assert plant.instance(old["id"])["version"] == 3
    plant.act("pm", plant.task_of("pm", old["id"])["id"], "approve")
    assert plant.act("qcm", plant.task_of("qcm", old["id"])["id"], "approve")["instance"]["status"] == "approved"


def test_bad_definitions_name_every_path(plant: Plant) -> None:
    bad = _flow(nodes=[
        {"id": "a", "type": "approval"},
        {"id": "a", "type": "approval", "assignees": [{"type": "user", "users": ["nobody_here"]}]},
        {"id": "v", "type": "approval", "mode": "vote", "assignees": [{"type": "field", "field": "cost"}]},
        {"id": "c", "type": "condition", "branches": [{"when": "costt > 1", "nodes": []}]},
        {"id": "x", "type": "action", "actions": [{"type": "set_fields", "values": {"nope": "1"}}]}])
    r = plant.client.put("/api/workflows/ncr_review", json=bad, headers=plant.h("admin"))
    assert r.status_code == 422
    paths = {p["path"] for p in r.json()["problems"]}
    assert {"/nodes/0/assignees", "/nodes/1/id", "/nodes/2/pass_ratio", "/nodes/2/assignees/0/field",
            "/nodes/3/branches/0/when", "/nodes/4/actions/0/values/nope"} <= paths, paths
    r = plant.client.put("/api/workflows/ncr_review", json=_flow(nodes=[
        {"id": "a", "type": "approval", "assignees": [{"type": "user", "users": ["qe11"]}]}]), headers=plant.h("admin"))
    assert r.status_code == 422 and "qe1" in r.json()["problems"][0]["message"]["zh-CN"]
    assert plant.client.put("/api/workflows/ncr_review", json=_flow(), headers=plant.h("qc1")).status_code == 403
    assert plant.client.put("/api/workflows/other", json=_flow(), headers=plant.h("admin")).status_code == 422


def test_inbox_counts_and_record_timeline(plant: Plant) -> None:
    ids = [plant.start(plant.ncr()["id"])["id"] for _ in range(3)]
    counts = plant.client.get("/api/tasks/counts", headers=plant.h("qe1")).json()
    assert counts["todo"] == 3
    started = plant.client.get("/api/tasks", params={"box": "started"}, headers=plant.h("qc1")).json()
    assert [i["instance"]["id"] for i in started["items"]] == sorted(ids, reverse=True)
    rec_id = started["items"][0]["instance"]["record_id"]
    tl = plant.client.get(f"/api/records/ncr/{rec_id}/timeline", headers=plant.h("qc1")).json()
    kinds = [(e["kind"], e["action"]) for e in tl]
    assert kinds[0] == ("change", "create") and ("workflow", "start") in kinds


def test_timeline_order_and_the_answered_task_match_what_is_stored(plant: Plant) -> None:
    """An action's timeline lines are written together at its end and its answer is built from what
    it wrote (no re-read): the order of the lines and the answered task must still be exactly what a
    fresh read shows."""
    plant.put_flow(_flow(name="ncr_chain", nodes=[
        {"id": "a", "type": "approval", "assignees": [{"type": "user", "users": ["qe1"]}]},
        {"id": "b", "type": "approval", "assignees": [{"type": "user", "users": ["pm"]}]}]))
    inst = plant.start(plant.ncr()["id"], flow="ncr_chain")
    out = plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve", comment="可以")
    full = plant.instance(inst["id"])
    stored = next(t for t in full["tasks"] if t["id"] == out["task"]["id"])
    assert out["task"] == stored and stored["status"] == "approved" and stored["comment"] == "可以"
    assert out["instance"]["open_tasks"] == [{"id": t["id"], "node_id": "b", "assignee_id": t["assignee_id"], "kind": "approval"}
                                             for t in full["tasks"] if t["node_id"] == "b"]
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "reject", comment="不同意")
    full = plant.instance(inst["id"])
    assert [(e["action"], e["node_id"]) for e in full["timeline"]] == [
        ("start", None), ("node_enter", "a"), ("approve", "a"), ("node_passed", "a"), ("node_enter", "b"),
        ("reject", "b"), ("node_rejected", "b"), ("finished", None)]
    assert [e["actor"] for e in full["timeline"] if e["action"] in ("approve", "reject")] == [
        full["tasks"][0]["assignee"], full["tasks"][1]["assignee"]]
    notes = plant.client.get("/api/notifications", headers=plant.h("pm")).json()["items"]
    assert sum("待审批" in n["title"] for n in notes) == 1          # pm was told once, when b began


PAR_NODES = [
    {"id": "review", "type": "approval", "assignees": [{"type": "user", "users": ["qe1"]}]},
    {"id": "both", "type": "parallel", "branches": [
        {"nodes": [{"id": "q1", "type": "approval", "assignees": [{"type": "user", "users": ["qcm"]}]},
                   {"id": "q2", "type": "approval", "assignees": [{"type": "user", "users": ["qe2"]}]}]},
        {"nodes": [{"id": "p1", "type": "approval", "assignees": [{"type": "user", "users": ["pm"]}]}]}]},
    {"id": "final", "type": "approval", "assignees": [{"type": "user", "users": ["admin"]}]}]


def _par_until_q2(plant: Plant, flow: str) -> dict:
    inst = plant.start(plant.ncr()["id"], flow=flow)
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")        # branch 1 waits at the join
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["q2"]
    return inst


def test_return_inside_a_parallel_branch_keeps_the_other_branch(plant: Plant) -> None:
    plant.put_flow(_flow(name="ncr_par", nodes=PAR_NODES))
    inst = _par_until_q2(plant, "ncr_par")
    # q2 sends it back to q1, in the same branch: only that branch runs again; pm is not asked again
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "return", target="q1", comment="数据不全")
    full = plant.instance(inst["id"])
    assert [n["id"] for n in full["current_nodes"]] == ["q1"] and plant.todo("pm") == []
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["final"]   # joined with pm's earlier pass
    assert plant.act("admin", plant.task_of("admin", inst["id"])["id"], "approve")["instance"]["status"] == "approved"
    full = plant.instance(inst["id"])
    assert [t["node_id"] for t in full["tasks"] if t["node_id"] == "p1"] == ["p1"]        # pm signed once


def test_return_to_another_branch_restarts_the_block(plant: Plant) -> None:
    plant.put_flow(_flow(name="ncr_par2", nodes=PAR_NODES))
    inst = _par_until_q2(plant, "ncr_par2")
    # p1 is in the other branch: the block runs again from its start, so both branches meet at the join
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "return", target="p1")
    assert sorted(n["id"] for n in plant.instance(inst["id"])["current_nodes"]) == ["p1", "q1"]
    plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")
    plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "approve")
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "approve")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["final"]


def test_return_back_from_a_branch_comes_straight_back(plant: Plant) -> None:
    plant.put_flow(_flow(name="ncr_par3", nodes=PAR_NODES))
    inst = _par_until_q2(plant, "ncr_par3")
    # q2 returns to review (before the block) with resume=back: after review, straight back into the
    # block (it is entered at its start, so both branches run), not through review's normal path twice
    plant.act("qe2", plant.task_of("qe2", inst["id"])["id"], "return", target="review", resume="back")
    assert [n["id"] for n in plant.instance(inst["id"])["current_nodes"]] == ["review"] and plant.todo("pm") == []
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "approve")
    assert sorted(n["id"] for n in plant.instance(inst["id"])["current_nodes"]) == ["p1", "q1"]
