"""An inbox that lets an approver decide (issue 20 item 6) and the timeline in words (item 5): each task
shows its record's key fields in words under the approver's field rules, with its files; 批量审批 decides
several tasks with one comment, each on its own; 催办 reminds the current approvers at most once an hour."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login

FORM = {
    "format": "mom.form/1", "name": "incoming_check", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
    "display_field": "batch",
    "fields": [
        {"id": "f1", "key": "batch", "type": "text", "label": {"zh-CN": "批次号", "en": "Batch"}, "required": True},
        {"id": "f2", "key": "item_code", "type": "text", "label": {"zh-CN": "物料编码", "en": "Item code"}},
        {"id": "f3", "key": "cost", "type": "decimal", "label": {"zh-CN": "索赔金额", "en": "Claim"}, "scale": 2},
        {"id": "f4", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
         "options": [{"value": "ok", "label": {"zh-CN": "合格", "en": "Pass"}},
                     {"value": "ng", "label": {"zh-CN": "不合格", "en": "Fail"}}]},
        {"id": "f5", "key": "inspector", "type": "user", "label": {"zh-CN": "检验员", "en": "Inspector"}},
        {"id": "f6", "key": "photos", "type": "attachment", "label": {"zh-CN": "照片", "en": "Photos"}},
    ],
    "permissions": [
        {"role": "inspector", "actions": ["create", "read", "update"], "scope": "own"},
        {"role": "qm", "actions": ["read"], "fields": {"cost": "hidden"}},
    ],
}
FLOW = {
    "format": "mom.workflow/1", "name": "incoming_review", "label": {"zh-CN": "来料不合格评审", "en": "Incoming review"},
    "form": "incoming_check", "trigger": {"on": "submit"},
    "nodes": [
        {"id": "by_verdict", "type": "condition", "branches": [
            {"label": {"zh-CN": "不合格", "en": "Failed"}, "when": "verdict == 'ng'", "nodes": [
                {"id": "qm_review", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "Quality manager review"},
                 "assignees": [{"type": "role", "roles": ["qm"]}], "mode": "any"}]},
            {"else": True, "nodes": []}]},
    ],
}
PEOPLE = {"insp1": ("检验员小王", ["inspector"]), "qm1": ("质量经理老陈", ["qm"]), "qm2": ("质量经理小李", ["qm"]),
          "outsider": ("仓管小周", [])}


class Desk:
    def __init__(self, client: TestClient, engine: sa.engine.Engine, admin: dict[str, str]) -> None:
        self.client, self.engine, self.heads = client, engine, {"admin": admin}
        with write_tx(engine) as conn:
            for user, (name, roles) in PEOPLE.items():
                auth.create_user(conn, username=user, display_name=name, roles=roles, password_hash=fixture_hash(user + "-pass-1"))
        for path, body in ((f"/api/forms/{FORM['name']}", FORM), (f"/api/workflows/{FLOW['name']}", FLOW)):
            r = client.put(path, json=body, headers=admin)
            assert r.status_code == 200, r.text

    def h(self, user: str) -> dict[str, str]:
        if user not in self.heads:
            self.heads[user] = login(self.client, user, user + "-pass-1")
        return self.heads[user]

    def submitted(self, batch: str, **values: Any) -> dict[str, Any]:
        """A record entered by insp1 (failed: it goes to the quality managers) and submitted."""
        uid = self.client.get("/api/auth/me", headers=self.h("insp1")).json()["id"]
        body = {"batch": batch, "item_code": "MAT-7", "cost": "1250.50", "verdict": "ng", "inspector": uid, **values}
        r = self.client.post("/api/records/incoming_check", json=body, headers=self.h("insp1"))
        assert r.status_code == 201, r.text
        r = self.client.post("/api/workflows/incoming_review/start", json={"record_id": r.json()["id"]}, headers=self.h("insp1"))
        assert r.status_code == 201, r.text
        return r.json()

    def todo(self, user: str, box: str = "todo") -> list[dict[str, Any]]:
        r = self.client.get("/api/tasks", params={"box": box}, headers=self.h(user))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def notes(self, user: str) -> list[dict[str, Any]]:
        return self.client.get("/api/notifications", headers=self.h(user)).json()["items"]


@pytest.fixture
def desk(client: TestClient, engine: sa.engine.Engine, admin: dict[str, str]) -> Desk:
    return Desk(client, engine, admin)


def _texts(fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {f["label"]["zh-CN"]: (f["text"] or {}).get("zh-CN") for f in fields}


def test_a_task_shows_its_record_in_words_without_what_the_approver_may_not_see(desk: Desk) -> None:
    photo = desk.client.post("/api/attachments", files={"file": ("砂眼.jpg", b"\xff\xd8 photo", "image/jpeg")},
                             headers=desk.h("insp1")).json()["id"]
    inst = desk.submitted("B-2401", photos=[photo])
    task = next(t for t in desk.todo("qm1") if t["instance_id"] == inst["id"])
    rec = task["record"]
    assert rec["title"]["zh-CN"] == "B-2401"
    shown = _texts(rec["fields"])
    # labelled in Chinese, options and people in words, never their stored keys or ids
    assert shown == {"物料编码": "MAT-7", "判定": "不合格", "检验员": "检验员小王"}
    assert next(f for f in rec["fields"] if f["key"] == "verdict")["text"]["en"] == "Fail"
    # the claim is hidden from the quality managers' role: not in the card, not even its label
    assert "索赔金额" not in str(rec) and "1250" not in str(rec)
    # the record's photo inline, readable by the approver
    assert [(f["filename"], f["field"]["zh-CN"]) for f in rec["files"]] == [("砂眼.jpg", "照片")]
    assert desk.client.get(f"/api/attachments/{photo}", headers=desk.h("qm1")).status_code == 200
    # where the task may be returned to, in words
    assert [x["label"]["zh-CN"] for x in task["return_targets"]] == ["发起人"]
    # the initiator sees the claim on the request they started, and who it waits for
    mine = desk.todo("insp1", "started")[0]
    assert _texts(mine["record"]["fields"])["索赔金额"] == "1250.50"
    assert sorted(mine["waiting_for"]) == ["质量经理小李", "质量经理老陈"] and mine["reminded_at"] is None


def test_batch_approve_decides_each_task_on_its_own(desk: Desk) -> None:
    insts = [desk.submitted(f"B-{i}") for i in range(3)]
    tasks = {t["instance_id"]: t["id"] for t in desk.todo("qm1")}
    first, second, third = (tasks[i["id"]] for i in insts)
    # qm2 decides the third one first: in the batch it is no longer open, the others go through
    r = desk.client.post(f"/api/tasks/{next(t['id'] for t in desk.todo('qm2') if t['instance_id'] == insts[2]['id'])}/approve",
                         json={}, headers=desk.h("qm2"))
    assert r.status_code == 200, r.text
    r = desk.client.post("/api/tasks/batch", json={"action": "approve", "task_ids": [first, second, third, 999999],
                                                  "comment": "批量同意，按让步接收"}, headers=desk.h("qm1"))
    assert r.status_code == 200, r.text
    out = r.json()
    by_id = {x["task_id"]: x for x in out["results"]}
    assert (out["done"], out["failed"]) == (2, 2)
    assert by_id[first]["ok"] and by_id[first]["instance_status"] == "approved" and by_id[second]["ok"]
    assert not by_id[third]["ok"] and by_id[third]["error"]["code"] == "conflict"
    said = by_id[third]["error"]["message"]["zh-CN"]      # in her words, no English status
    assert "已通过" in said and "刷新" in said and not any("a" <= c.lower() <= "z" for c in said), said
    assert not by_id[999999]["ok"] and by_id[999999]["error"]["code"] == "not_found"
    for inst in insts[:2]:
        full = desk.client.get(f"/api/workflow-instances/{inst['id']}", headers=desk.h("insp1")).json()
        assert full["status"] == "approved"
        assert any(e["text"]["zh-CN"] == "质量经理老陈 同意：批量同意，按让步接收" for e in full["timeline"])
    # the third stays as qm2 decided it: approved once, without qm1's comment
    third_view = desk.client.get(f"/api/workflow-instances/{insts[2]['id']}", headers=desk.h("insp1")).json()
    assert [e["comment"] for e in third_view["timeline"] if e["action"] == "approve"] == [None]
    # someone else's tasks: refused each, nothing decided
    rest = desk.submitted("B-9")
    tid = next(t["id"] for t in desk.todo("qm1") if t["instance_id"] == rest["id"])
    r = desk.client.post("/api/tasks/batch", json={"action": "approve", "task_ids": [tid]}, headers=desk.h("insp1"))
    assert r.status_code == 200 and not r.json()["results"][0]["ok"]
    assert desk.client.get(f"/api/workflow-instances/{rest['id']}", headers=desk.h("insp1")).json()["status"] == "running"


@pytest.mark.parametrize("body, where", [({"action": "transfer", "task_ids": [1]}, "/action"),
                                         ({"action": "approve", "task_ids": []}, "/task_ids"),
                                         ({"action": "approve", "task_ids": list(range(1, 102))}, "/task_ids"),
                                         ({"action": "approve", "task_ids": ["1"]}, "/task_ids"),
                                         ({"action": "approve", "task_ids": [1], "comment": 5}, "/comment")])
def test_a_bad_batch_is_refused_naming_the_field(desk: Desk, body: dict[str, Any], where: str) -> None:
    r = desk.client.post("/api/tasks/batch", json=body, headers=desk.h("qm1"))
    assert r.status_code == 422, r.text
    assert [p["path"] for p in r.json()["problems"]] == [where]


def test_the_initiator_reminds_the_approvers_once_an_hour(desk: Desk) -> None:
    inst = desk.submitted("B-7")
    url = f"/api/workflow-instances/{inst['id']}/remind"
    # only the initiator reminds; someone who cannot even see the request learns nothing
    r = desk.client.post(url, headers=desk.h("qm1"))
    assert r.status_code == 403 and "无权限" in r.json()["message"]["zh-CN"]
    assert desk.client.post(url, headers=desk.h("outsider")).status_code in (403, 404)
    assert not any(n["kind"] == "reminder" for n in desk.notes("qm1"))
    r = desk.client.post(url, headers=desk.h("insp1"))
    assert r.status_code == 200, r.text
    assert sorted(x["user"] for x in r.json()["reminded"]) == ["质量经理小李", "质量经理老陈"]
    for user in ("qm1", "qm2"):
        note = next(n for n in desk.notes(user) if n["kind"] == "reminder")
        assert "催办" in note["title"] and "检验员小王" in note["title"] and "来料不合格评审" in note["title"]
    # again within the hour: 429 saying from when
    r = desk.client.post(url, headers=desk.h("insp1"))
    assert r.status_code == 429, r.text
    assert "之后再催办" in r.json()["message"]["zh-CN"] and 3500 <= int(r.headers["Retry-After"]) <= 3600
    assert len([n for n in desk.notes("qm1") if n["kind"] == "reminder"]) == 1
    started = desk.todo("insp1", "started")[0]
    assert started["reminded_at"] is not None
    # an hour later they may remind again
    with write_tx(desk.engine) as conn:
        conn.execute(T.wf_event.update().where(T.wf_event.c.instance_id == inst["id"], T.wf_event.c.action == "remind")
                     .values(at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=61)))
    assert desk.client.post(url, headers=desk.h("insp1")).status_code == 200
    assert len([n for n in desk.notes("qm1") if n["kind"] == "reminder"]) == 2
    # once decided there is nobody to remind
    tid = next(t["id"] for t in desk.todo("qm1") if t["instance_id"] == inst["id"])
    desk.client.post(f"/api/tasks/{tid}/approve", json={}, headers=desk.h("qm1"))
    r = desk.client.post(url, headers=desk.h("insp1"))
    assert r.status_code == 409 and "不需要催办" in r.json()["message"]["zh-CN"]
    texts = [e["text"]["zh-CN"] for e in desk.client.get(f"/api/workflow-instances/{inst['id']}", headers=desk.h("insp1")).json()["timeline"]]
    assert texts.count("检验员小王 催办 质量经理老陈、质量经理小李") == 2


def test_the_timeline_reads_as_sentences(desk: Desk) -> None:
    uid = desk.client.get("/api/auth/me", headers=desk.h("insp1")).json()["id"]
    r = desk.client.post("/api/records/incoming_check", json={"batch": "B-5", "verdict": "ok", "inspector": uid}, headers=desk.h("insp1"))
    rid = r.json()["id"]
    r = desk.client.patch(f"/api/records/incoming_check/{rid}", json={"verdict": "ng", "row_version": r.json()["row_version"]},
                          headers=desk.h("insp1"))
    assert r.status_code == 200, r.text
    inst = desk.client.post("/api/workflows/incoming_review/start", json={"record_id": rid}, headers=desk.h("insp1")).json()
    tid = next(t["id"] for t in desk.todo("qm1") if t["instance_id"] == inst["id"])
    assert desk.client.post(f"/api/tasks/{tid}/approve", json={"comment": "可以让步接收"}, headers=desk.h("qm1")).status_code == 200
    line = desk.client.get(f"/api/records/incoming_check/{rid}/timeline", headers=desk.h("insp1")).json()
    zh = [e["text"]["zh-CN"] for e in line]
    assert zh == ["检验员小王 新建记录", "检验员小王 修改了 判定", "检验员小王 提交审批", "条件「不合格」成立",
                  "进入「质量经理审批」，待 质量经理老陈、质量经理小李 审批", "质量经理老陈 同意：可以让步接收",
                  "「质量经理审批」通过", "流程结束：通过"]
    change = line[1]["details"][0]
    assert (change["label"]["zh-CN"], change["from"]["zh-CN"], change["to"]["zh-CN"]) == ("判定", "合格", "不合格")
    en = [e["text"]["en"] for e in line]
    assert en[3:] == ["Condition “Failed” held", "Reached “Quality manager review”: waiting for 质量经理老陈, 质量经理小李",
                      "质量经理老陈 approved: 可以让步接收", "“Quality manager review” passed", "Flow ended: approved"]
    # no event code or field key anywhere in the words
    words = " ".join(zh + en)
    for raw in ("node_enter", "branch", "finished", "verdict", "qm_review", "by_verdict", "approve "):
        assert raw not in words


def test_the_same_from_the_command_line(desk: Desk, cli: Any) -> None:
    first, second = desk.submitted("B-31"), desk.submitted("B-32")
    r = cli("workflow", "remind", first["id"], "--user", "insp1")
    assert r.exit_code == 0, r.output
    assert sorted(x["user"] for x in json.loads(r.output)["reminded"]) == ["质量经理小李", "质量经理老陈"]
    r = cli("workflow", "remind", first["id"], "--user", "insp1")
    assert r.exit_code == 1 and "之后再催办" in r.output
    ids = [t["id"] for t in desk.todo("qm2") if t["instance_id"] in (first["id"], second["id"])]
    r = cli("workflow", "decide", "approve", *ids, "--user", "qm2", "--comment", "命令行批量同意")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["done"] == 2
    r = cli("workflow", "tasks", "--user", "insp1", "--box", "started")
    assert r.exit_code == 0 and "不合格" in r.output and "approved" in r.output
