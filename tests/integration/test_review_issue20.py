"""Issue 20 review as an attacker with a low-privilege account: the approval features' new routes
refuse what is not the caller's (403 无权限 or 404 for what they have no link to), never 500, bounded."""
from __future__ import annotations

from typing import Any

from tests.integration.test_inbox_decide import Desk, desk  # noqa: F401  (the fixture)


def _zh(r: Any) -> str:
    return r.json()["message"]["zh-CN"]


def test_a_proxy_reads_only_the_record_of_its_task_and_changes_nothing_else(desk: Desk) -> None:  # noqa: F811
    """qm1 names outsider (no role on the form) as proxy: the new task goes to outsider, who reads that
    record but no other record of the form, may not list the form, and cannot change a locked field."""
    r = desk.client.post("/api/workflow-proxies", json={"proxy": "outsider", "ends_at": "2099-01-01T00:00:00Z"},
                         headers=desk.h("qm1"))
    assert r.status_code in (400, 422) or r.status_code == 201, r.text
    if r.status_code != 201:      # periods are at most a year: take one from now
        import datetime as dt
        end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
        r = desk.client.post("/api/workflow-proxies", json={"proxy": "outsider", "ends_at": end}, headers=desk.h("qm1"))
        assert r.status_code == 201, r.text
    other = desk.client.post("/api/records/incoming_check", json={"batch": "B-OTHER", "verdict": "ok"}, headers=desk.h("insp1")).json()
    inst = desk.submitted("B-PROXY")
    mine = [t for t in desk.todo("outsider") if t["instance_id"] == inst["id"]]
    assert mine, desk.todo("outsider")
    rid = inst["record_id"]
    got = desk.client.get(f"/api/records/incoming_check/{rid}", headers=desk.h("outsider"))
    assert got.status_code == 200, got.text
    r = desk.client.get(f"/api/records/incoming_check/{other['id']}", headers=desk.h("outsider"))
    assert r.status_code == 403 and _zh(r).startswith("无权限"), r.text
    r = desk.client.get("/api/records/incoming_check", headers=desk.h("outsider"))
    assert r.status_code == 403 or r.json()["items"] == [], r.text
    r = desk.client.patch(f"/api/records/incoming_check/{rid}", json={"batch": "HACK", "row_version": got.json()["row_version"]},
                          headers=desk.h("outsider"))
    assert r.status_code in (403, 409), r.text
    r = desk.client.delete(f"/api/records/incoming_check/{rid}", headers=desk.h("outsider"))
    assert r.status_code in (403, 409), r.text
    # the proxy cannot re-point qm1's proxy nor remove it; qm2 cannot see qm1's periods
    pid = desk.client.get("/api/workflow-proxies", headers=desk.h("qm1")).json()[0]["id"]
    assert desk.client.delete(f"/api/workflow-proxies/{pid}", headers=desk.h("outsider")).status_code == 403
    assert desk.client.get("/api/workflow-proxies?all=1", headers=desk.h("qm2")).json() == []


def test_others_cannot_set_proxies_hand_over_or_remind(desk: Desk) -> None:  # noqa: F811
    import datetime as dt
    end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    # naming yourself someone else's proxy (harvesting their tasks) is refused
    r = desk.client.post("/api/workflow-proxies", json={"user": "qm1", "proxy": "outsider", "ends_at": end}, headers=desk.h("outsider"))
    assert r.status_code == 403 and _zh(r).startswith("无权限"), r.text
    r = desk.client.post("/api/workflow-proxies", json={"proxy": "outsider", "ends_at": end}, headers=desk.h("outsider"))
    assert r.status_code == 422, r.text
    for bad in ({"proxy": "x" * 5000, "ends_at": end}, {"proxy": ["qm1"], "ends_at": end}, {"proxy": "qm1", "ends_at": "x" * 99},
                {"proxy": "qm1", "ends_at": 5}, [1, 2], "text"):
        r = desk.client.post("/api/workflow-proxies", json=bad, headers=desk.h("outsider"))
        assert r.status_code == 422, (bad, r.text)
    r = desk.client.post("/api/admin/workflow-handover", json={"from": "qm1", "to": "outsider"}, headers=desk.h("outsider"))
    assert r.status_code == 403, r.text
    inst = desk.submitted("B-R")
    r = desk.client.post(f"/api/workflow-instances/{inst['id']}/remind", json={}, headers=desk.h("outsider"))
    assert r.status_code == 404, r.text
    r = desk.client.post(f"/api/workflow-instances/{inst['id']}/remind", json={}, headers=desk.h("qm1"))
    assert r.status_code == 403 and _zh(r).startswith("无权限"), r.text
    assert desk.client.post(f"/api/workflow-instances/{inst['id']}/remind", json={}, headers=desk.h("insp1")).status_code == 200
    r = desk.client.post(f"/api/workflow-instances/{inst['id']}/remind", json={}, headers=desk.h("insp1"))
    assert r.status_code == 429, r.text
    r = desk.client.post(f"/api/workflow-instances/{inst['id']}/revoke", json={}, headers=desk.h("outsider"))
    assert r.status_code in (403, 404), r.text


def test_batch_decides_only_my_own_tasks_and_is_bounded(desk: Desk) -> None:  # noqa: F811
    inst = desk.submitted("B-B")
    tid = next(t["id"] for t in desk.todo("qm1") if t["instance_id"] == inst["id"])
    r = desk.client.post("/api/tasks/batch", json={"action": "approve", "task_ids": [tid, tid, tid]}, headers=desk.h("outsider"))
    assert r.status_code == 200, r.text
    assert r.json()["done"] == 0 and len(r.json()["results"]) == 1
    assert r.json()["results"][0]["error"]["code"] in ("access_denied", "not_found"), r.text
    full = desk.client.get(f"/api/workflow-instances/{inst['id']}", headers=desk.h("insp1")).json()
    assert full["status"] == "running"
    for bad in ({"action": "approve", "task_ids": list(range(1, 1002))}, {"action": "transfer", "task_ids": [tid]},
                {"action": "approve", "task_ids": [True]}, {"action": "approve", "task_ids": [tid], "comment": "x" * 3000},
                {"action": "approve", "task_ids": [2**70]}, {"action": "approve", "task_ids": "1"}):
        r = desk.client.post("/api/tasks/batch", json=bad, headers=desk.h("qm1"))
        assert r.status_code == 422, (str(bad)[:80], r.text)
    r = desk.client.get(f"/api/tasks/{tid}/options", headers=desk.h("outsider"))
    assert r.status_code in (403, 404), r.text


def test_permission_helpers_and_designer_keys_are_bounded(desk: Desk) -> None:  # noqa: F811
    h = desk.h("outsider")
    r = desk.client.post("/api/designer/keys", json={"kind": "form", "labels": ["来料检验记录"]}, headers=h)
    assert r.status_code == 200 and "incoming_check" not in str(r.json())
    for bad in ({"kind": "form", "labels": ["x" * 201]}, {"kind": "form", "labels": ["a"] * 501}, {"kind": "zzz", "labels": []},
                {"kind": "form", "labels": "abc"}, [1]):
        r = desk.client.post("/api/designer/keys", json=bad, headers=h)
        assert r.status_code == 422, (str(bad)[:80], r.text)
    for path, bad in (("/api/permissions/compose", [1] * 10), ("/api/permissions/compose", {"fill": "x" * 100000}),
                      ("/api/permissions/compose", {"fill": {"roles": ["r"] * 5000}}), ("/api/permissions/describe", {"permissions": [1] * 50}),
                      ("/api/permissions/describe", {"permissions": [{"role": ["x"], "actions": "read"}]}),
                      ("/api/permissions/describe", "x"),
                      # a list whose entries are not what the editor writes is told back, not a 500
                      ("/api/permissions/describe", {"permissions": [{"role": "x", "actions": 1}, {"role": "y", "actions": [["read"]]}]}),
                      ("/api/permissions/describe", {"permissions": [{"role": ["x"], "actions": ["create", "read", "update"],
                                                                      "scope": "own"}]})):
        r = desk.client.post(path, json=bad, headers=h)
        assert r.status_code in (200, 422), (path, str(bad)[:80], r.status_code, r.text[:300])


def test_the_submitter_cannot_choose_themselves_as_approver(desk: Desk) -> None:  # noqa: F811
    """发起人自选 without a candidate list offers every active user but the submitter, and choosing
    oneself is refused in words (nobody approves their own request), writing nothing."""
    flow = {"format": "mom.workflow/1", "name": "incoming_pick", "label": {"zh-CN": "自选审批", "en": "Chosen"},
            "form": "incoming_check", "trigger": {"on": "submit"},
            "nodes": [{"id": "pick", "type": "approval", "label": {"zh-CN": "自选审批人", "en": "Chosen"},
                       "assignees": [{"type": "chosen", "max": 2}], "mode": "all"}]}
    r = desk.client.put("/api/workflows/incoming_pick", json=flow, headers=desk.heads["admin"])
    assert r.status_code in (200, 201), r.text
    offer = desk.client.get("/api/workflows/incoming_pick/choices", headers=desk.h("insp1")).json()
    names = {c["username"] for c in offer[0]["candidates"]}
    assert "insp1" not in names and "qm1" in names
    rid = desk.client.post("/api/records/incoming_check", json={"batch": "B-SELF", "verdict": "ng"}, headers=desk.h("insp1")).json()["id"]
    r = desk.client.post("/api/workflows/incoming_pick/start", json={"record_id": rid, "approvers": {"pick": ["qm1", "insp1"]}},
                         headers=desk.h("insp1"))
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["path"] == "/approvers/pick" and "不能选择你自己" in r.json()["problems"][0]["message"]["zh-CN"]
    assert desk.todo("insp1") == [] and desk.todo("qm1") == []
    r = desk.client.post("/api/workflows/incoming_pick/start", json={"record_id": rid, "approvers": {"pick": ["qm1"]}},
                         headers=desk.h("insp1"))
    assert r.status_code == 201, r.text


def test_a_proxy_does_not_approve_the_request_they_submitted(desk: Desk) -> None:  # noqa: F811
    """qm1 names the inspector as proxy: the inspector's own request stays with qm1 (and qm2), it does
    not land in the inspector's inbox for them to approve themselves."""
    import datetime as dt
    end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    r = desk.client.post("/api/workflow-proxies", json={"proxy": "insp1", "ends_at": end}, headers=desk.h("qm1"))
    assert r.status_code == 201, r.text
    inst = desk.submitted("B-SELFPROXY")
    assert [t for t in desk.todo("insp1") if t["instance_id"] == inst["id"]] == []
    assert [t for t in desk.todo("qm1") if t["instance_id"] == inst["id"]]


def test_designer_keys_cost_stays_bounded_for_a_crafted_request() -> None:
    """500 equal labels against 5000 taken keys (the request's limits) used to try ~2.7 million
    candidates (seconds of CPU per request from any signed-in user); each label now tries a few."""
    from mom.engines.definitions.keys import make_keys
    tried = []
    taken = ["jian_yan"] + [f"jian_yan_{i}" for i in range(2, 5000)]
    keys = make_keys(["检验"] * 500, kind="field", taken=taken, reserved=lambda k: tried.append(k) is not None)
    assert len(set(keys)) == 500 and not set(keys) & set(taken) and keys[0] == "jian_yan_5000"
    assert len(tried) < 500 * 3 + 5000
    # a long label is read only as far as a key can show
    assert make_keys(["检" * 200])[0] == make_keys(["检" * 30])[0]


def test_a_delegate_asked_for_an_opinion_does_not_edit_the_node_fields(desk: Desk) -> None:  # noqa: F811
    """委派: qm1 asks outsider's opinion on a step whose approvers may change 物料编码. The delegate reads
    the record and answers, but changes nothing (the task API ignores a delegate's values; PATCH is
    refused too); qm1, the approver, still may."""
    flow = {"format": "mom.workflow/1", "name": "incoming_edit", "label": {"zh-CN": "来料评审（可改物料）", "en": "Review"},
            "form": "incoming_check", "trigger": {"on": "submit"},
            "nodes": [{"id": "qm_edit", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "QM"},
                       "assignees": [{"type": "user", "users": ["qm1"]}], "mode": "any", "editable_fields": ["item_code"]}]}
    r = desk.client.put("/api/workflows/incoming_edit", json=flow, headers=desk.heads["admin"])
    assert r.status_code in (200, 201), r.text
    rid = desk.client.post("/api/records/incoming_check", json={"batch": "B-DEL", "item_code": "MAT-1", "verdict": "ng"},
                           headers=desk.h("insp1")).json()["id"]
    inst = desk.client.post("/api/workflows/incoming_edit/start", json={"record_id": rid}, headers=desk.h("insp1")).json()
    tid = next(t["id"] for t in desk.todo("qm1") if t["instance_id"] == inst["id"])
    r = desk.client.post(f"/api/tasks/{tid}/delegate", json={"to": "outsider", "comment": "请看下"}, headers=desk.h("qm1"))
    assert r.status_code == 200, r.text
    url = f"/api/records/incoming_check/{rid}"
    got = desk.client.get(url, headers=desk.h("outsider"))
    assert got.status_code == 200, got.text
    r = desk.client.patch(url, json={"item_code": "MAT-EVIL", "row_version": got.json()["row_version"]}, headers=desk.h("outsider"))
    assert r.status_code == 403 and _zh(r).startswith("无权限"), r.text
    assert desk.client.get(url, headers=desk.h("insp1")).json()["item_code"] == "MAT-1"
    dtid = next(t["id"] for t in desk.todo("outsider") if t["instance_id"] == inst["id"])
    r = desk.client.post(f"/api/tasks/{dtid}/approve", json={"comment": "同意"}, headers=desk.h("outsider"))
    assert r.status_code == 200, r.text
    got = desk.client.get(url, headers=desk.h("qm1")).json()
    r = desk.client.patch(url, json={"item_code": "MAT-2", "row_version": got["row_version"]}, headers=desk.h("qm1"))
    assert r.status_code == 200 and r.json()["item_code"] == "MAT-2", r.text
