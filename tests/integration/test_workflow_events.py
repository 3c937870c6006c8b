"""Record state machines, event rules through the outbox and workers, timeouts, dead letters."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from mom.engines.workflow.actions import register_hook
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant


def _worker(plant: Plant, settings, engine, **kw) -> Worker:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"worker_max_attempts": 3, **kw})
    return Worker(engine, s, name="test-worker")


#: a work order with a state machine of its own (what the demo pack's production order was before core took
#: production orders over: core's are released and reported through the production engine)
WORK_ORDER = {
    "format": "mom.form/1", "name": "work_order", "label": {"zh-CN": "作业单", "en": "Work order"}, "display_field": "code",
    "fields": [
        {"id": "p1", "key": "code", "type": "autonumber", "label": {"zh-CN": "作业单号", "en": "Order no."}, "pattern": "WO-{yyyyMM}-{seq:4}"},
        {"id": "p2", "key": "material", "type": "reference", "form": "item", "display_field": "code", "label": {"zh-CN": "产品", "en": "Product"}, "required": True},
        {"id": "p3", "key": "qty", "type": "integer", "label": {"zh-CN": "计划数量", "en": "Planned qty"}, "min": 1, "required": True},
        {"id": "p4", "key": "good_qty", "type": "integer", "label": {"zh-CN": "合格数量", "en": "Good qty"}, "min": 0},
        {"id": "p5", "key": "status", "type": "select", "label": {"zh-CN": "状态", "en": "Status"},
         "options": [{"value": v, "label": {"zh-CN": z, "en": v}} for v, z in
                     (("planned", "已计划"), ("released", "已下达"), ("started", "已开工"), ("finished", "已完工"), ("closed", "已关闭"))]},
        {"id": "p6", "key": "released_at", "type": "datetime", "label": {"zh-CN": "下达时间", "en": "Released at"}}],
    "state_machine": {"field": "status", "initial": "planned", "transitions": [
        {"key": "release", "label": {"zh-CN": "下达", "en": "Release"}, "from": ["planned"], "to": "released",
         "roles": ["planner"], "set": {"released_at": "now()"}},
        {"key": "start", "label": {"zh-CN": "开工", "en": "Start"}, "from": ["released"], "to": "started"},
        {"key": "finish", "label": {"zh-CN": "完工", "en": "Finish"}, "from": ["started"], "to": "finished",
         "required": ["good_qty"], "when": "good_qty <= qty"},
        {"key": "close", "label": {"zh-CN": "关闭", "en": "Close"}, "from": ["finished", "planned"], "to": "closed", "roles": ["planner"]}]},
    "permissions": [{"role": "*", "actions": ["read", "update"]},
                    {"role": "planner", "actions": ["create", "read", "update", "delete", "export"]}]}


def _work_orders(plant: Plant) -> None:
    r = plant.client.put("/api/forms/work_order", json=WORK_ORDER, headers=plant.h("admin"))
    assert r.status_code == 200, r.text


def test_an_order_moves_only_through_its_transitions(plant: Plant) -> None:
    _work_orders(plant)
    c, planner, op = plant.client, plant.h("planner"), plant.h("qe1")
    r = c.post("/api/records/work_order", json={"material": "MAT-1001", "qty": 100, "status": "started"}, headers=planner)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/status"
    mo = c.post("/api/records/work_order", json={"material": "MAT-1001", "qty": 100}, headers=planner).json()
    assert mo["status"] == "planned"
    url = f"/api/records/work_order/{mo['id']}"
    r = plant.edit(url, {"status": "finished"}, "planner")                          # skipping states
    assert r.status_code == 409 and "下达" in r.json()["message"]["zh-CN"]        # the transition by its label
    assert c.post(f"{url}/transitions/release", headers=op).status_code == 403     # only planners release
    assert [t["key"] for t in c.get(f"{url}/transitions", headers=planner).json()["transitions"]] == ["release", "close"]
    r = c.post(f"{url}/transitions/release", headers=planner)
    assert r.status_code == 200 and r.json()["status"] == "released" and r.json()["released_at"]
    assert plant.edit(url, {"status": "started"}, "qe1").status_code == 200  # a PATCH that is a transition
    r = c.post(f"{url}/transitions/finish", headers=op)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/good_qty"   # required first
    assert c.post(f"{url}/transitions/finish", json={"good_qty": 120}, headers=op).status_code == 409  # condition
    assert c.post(f"{url}/transitions/finish", json={"good_qty": 98}, headers=op).json()["status"] == "finished"
    assert c.post(f"{url}/transitions/nope", headers=op).status_code == 422


def test_import_cannot_jump_states(plant: Plant) -> None:
    _work_orders(plant)
    c, planner = plant.client, plant.h("planner")
    mo = c.post("/api/records/work_order", json={"material": "MAT-1001", "qty": 5}, headers=planner).json()
    csv = f"code,status\n{mo['code']},closed\n".encode("utf-8")
    r = c.post("/api/records/work_order/import", data={"key": "code"}, files={"file": ("mo.csv", io.BytesIO(csv), "text/csv")},
               headers=planner)
    assert r.json()["updated"] == 1                       # planned -> closed is a declared transition
    csv = f"code,status\n{mo['code']},started\n".encode("utf-8")
    r = c.post("/api/records/work_order/import", data={"key": "code"}, files={"file": ("mo.csv", io.BytesIO(csv), "text/csv")},
               headers=planner)
    body = r.json()
    assert r.status_code == 422 or body["updated"] == 0, body
    assert "started" in str(body) and "release" not in str(body.get("updated", ""))
    assert c.get(f"/api/records/work_order/{mo['id']}", headers=planner).json()["status"] == "closed"


def test_breakdown_rule_runs_once_through_the_outbox(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    c = plant.client
    low = c.post("/api/records/breakdown", json={"machine": "CNC-3", "symptom": "异响"}, headers=plant.h("qe1")).json()
    high = c.post("/api/records/breakdown", json={"machine": "CNC-7", "symptom": "主轴卡死", "severity": "high"},
                  headers=plant.h("qe1")).json()
    w = _worker(plant, settings, engine)
    got = w.drain()
    assert got["failed"] == 0 and got["events"] >= 3
    orders = c.get("/api/records/repair_ticket", headers=plant.h("admin")).json()["items"]
    assert [(o["machine"], o["breakdown_id"]) for o in orders] == [("CNC-7", high["id"])]
    notes = c.get("/api/notifications", headers=plant.h("planner")).json()
    assert notes["unread"] == 1 and "CNC-7" in notes["items"][0]["title"]
    assert w.drain()["events"] == 0                                   # nothing runs twice
    with engine.connect() as conn:
        ext = conn.execute(sa.select(T.outbox.c.payload).where(T.outbox.c.topic == "external")).scalars().all()
    assert ext == [{"name": "erp.machine_down", "payload": {"machine": "CNC-7", "breakdown_id": high["id"]}}]
    assert low["id"] != high["id"]


def test_failing_rule_backs_off_goes_dead_and_can_be_retried(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def flaky(rt, args, names):  # type: ignore[no-untyped-def]
        calls.append(args["n"])
        if len(calls) <= 3:
            raise RuntimeError("ERP offline")
        return {"ok": True}

    register_hook("test.flaky", flaky)
    rule = {"format": "mom.rule/1", "name": "tell_erp", "on": {"event": "external", "name": "erp.ping"},
            "actions": [{"type": "hook", "name": "test.flaky", "args": {"n": "payload['n']"}}]}
    assert plant.client.put("/api/rules/tell_erp", json=rule, headers=plant.h("admin")).status_code == 200
    r = plant.client.post("/api/events/erp.ping", json={"n": 7}, headers=plant.h("admin"))
    assert r.status_code == 202
    assert plant.client.post("/api/events/erp.ping", json={"n": 7}, headers=plant.h("qe1")).status_code == 403
    w = _worker(plant, settings, engine)
    w.drain()                                                     # fan-out done; the rule run failed once
    with write_tx(engine) as conn:                               # skip the back-off waits
        conn.execute(T.outbox.update().where(T.outbox.c.status == "pending").values(available_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    w.drain()
    with write_tx(engine) as conn:
        conn.execute(T.outbox.update().where(T.outbox.c.status == "pending").values(available_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    w.drain()
    dead = plant.client.get("/api/outbox", headers=plant.h("admin")).json()
    assert dead["stats"]["dead"] == 1 and "ERP offline" in dead["items"][0]["last_error"] and calls == [7, 7, 7]
    r = plant.client.post("/api/outbox/retry", json={"ids": [dead["items"][0]["id"]]}, headers=plant.h("admin"))
    assert r.json()["retried"] == 1
    w.drain()
    assert calls == [7, 7, 7, 7] and plant.client.get("/api/outbox", headers=plant.h("admin")).json()["stats"]["dead"] == 0


def test_bad_rules_are_refused_with_paths(plant: Plant) -> None:
    bad = {"format": "mom.rule/1", "name": "r1", "on": {"event": "record.updated", "form": "ncr", "fields": ["costt"]},
           "if": "cost >", "actions": [{"type": "create_record", "values": {"a": "1"}}]}
    r = plant.client.put("/api/rules/r1", json=bad, headers=plant.h("admin"))
    assert r.status_code == 422
    assert {"/on/fields/0", "/if", "/actions/0/form"} <= {p["path"] for p in r.json()["problems"]}
    r = plant.client.put("/api/rules/r2", json={"format": "mom.rule/1", "name": "r2", "on": {"event": "schedule", "cron": "61 * * * *"},
                                                "actions": [{"type": "emit", "event": "x"}]}, headers=plant.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/on/cron"


def test_schedule_rule_fires_once_per_due_time(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    rule = {"format": "mom.rule/1", "name": "morning", "on": {"event": "schedule", "cron": "0 8 * * *"},
            "actions": [{"type": "emit", "event": "plant.morning"}]}
    assert plant.client.put("/api/rules/morning", json=rule, headers=plant.h("admin")).status_code == 200
    with write_tx(engine) as conn:
        conn.execute(T.rule.update().where(T.rule.c.name == "morning").values(next_run_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
        # the packs' own schedule rules (the quality pack's patrol tick) wait: this test counts its one
        conn.execute(T.rule.update().where(T.rule.c.name != "morning").values(next_run_at=dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc)))
    a, b = _worker(plant, settings, engine), Worker(engine, settings, name="other")
    a.run_once()
    b.run_once()
    a.drain()
    with engine.connect() as conn:
        runs = conn.execute(sa.select(sa.func.count()).select_from(T.outbox).where(T.outbox.c.topic == "rule.run")).scalar_one()
        nxt = conn.execute(sa.select(T.rule.c.next_run_at).where(T.rule.c.name == "morning")).scalar_one()
    assert runs == 1 and nxt > dt.datetime.now(dt.timezone.utc)


def test_condition_trigger_starts_a_flow_when_it_becomes_true(plant: Plant) -> None:
    flow = {"format": "mom.workflow/1", "name": "big_loss", "form": "ncr", "trigger": {"on": "condition", "when": "cost >= 50000"},
            "nodes": [{"id": "gm", "type": "approval", "assignees": [{"type": "user", "users": ["admin"]}]}]}
    plant.put_flow(flow)
    rec = plant.ncr(cost=100)
    assert plant.todo("admin") == []
    r = plant.edit(f"/api/records/ncr/{rec['id']}", {"cost": 60000}, "qc1")
    assert r.status_code == 200
    todo = plant.todo("admin")
    assert [(t["workflow"], t["record_id"]) for t in todo] == [("big_loss", rec["id"])]
    plant.ncr(cost=90000)
    assert len(plant.todo("admin")) == 2


def test_timeouts_remind_escalate_and_auto_decide(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    flow = {"format": "mom.workflow/1", "name": "ncr_fast", "form": "ncr",
            "nodes": [{"id": "a", "type": "approval", "assignees": [{"type": "user", "users": ["qe1"]}],
                       "timeout": {"hours": 2, "action": "escalate", "escalate_to": [{"type": "user", "users": ["qcm"]}]}},
                      {"id": "b", "type": "approval", "assignees": [{"type": "user", "users": ["pm"]}],
                       "timeout": {"hours": 1, "action": "auto_approve", "working_time": False}}]}
    plant.put_flow(flow)
    inst = plant.start(plant.ncr()["id"], flow="ncr_fast")
    t = plant.task_of("qe1", inst["id"])
    assert t["due_at"] is not None
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    with write_tx(engine) as conn:
        conn.execute(T.wf_task.update().where(T.wf_task.c.id == t["id"]).values(due_at=past))
    w = _worker(plant, settings, engine)
    assert w.run_once()["timeouts"] == 1
    # 超时升级: qcm gets a task answering for qe1's, and qe1 keeps theirs (told it was escalated)
    up = plant.task_of("qcm", inst["id"])
    assert up["id"] != t["id"] and [x["id"] for x in plant.todo("qe1")] == [t["id"]]
    assert any("升级" in n["title"] for n in plant.client.get("/api/notifications", headers=plant.h("qe1")).json()["items"])
    plant.act("qcm", up["id"], "approve")
    assert plant.todo("qe1") == []                       # answered for them: their task is closed
    plant.act("qe1", t["id"], "approve", expect=409)
    tb = plant.task_of("pm", inst["id"])
    with write_tx(engine) as conn:
        conn.execute(T.wf_task.update().where(T.wf_task.c.id == tb["id"]).values(due_at=past))
    w.run_once()
    full = plant.instance(inst["id"])
    assert full["status"] == "approved" and "timeout_auto_approve" in [e["action"] for e in full["timeline"]]
    esc = next(e for e in full["timeline"] if e["action"] == "timeout_escalate")
    assert esc["data"]["task"] == up["id"] and esc["task_id"] == t["id"]


def test_escalation_in_a_countersign_node_counts_once_and_either_may_answer(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """会签 of qe1 and pm; qe1's task escalates to qcm. qe1 answering themselves closes qcm's task,
    and the node still needs pm: the escalation added no extra approval and no extra vote."""
    plant.put_flow({"format": "mom.workflow/1", "name": "ncr_both", "form": "ncr",
                    "nodes": [{"id": "both", "type": "approval", "mode": "all",
                               "assignees": [{"type": "user", "users": ["qe1", "pm"]}],
                               "timeout": {"hours": 2, "action": "escalate", "escalate_to": [{"type": "user", "users": ["qcm"]}]}}]})
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    w = _worker(plant, settings, engine)
    for answer_by in ("qe1", "qcm"):
        inst = plant.start(plant.ncr()["id"], flow="ncr_both")
        t = plant.task_of("qe1", inst["id"])
        with write_tx(engine) as conn:
            conn.execute(T.wf_task.update().where(T.wf_task.c.id == t["id"]).values(due_at=past))
        assert w.run_once()["timeouts"] == 1
        up = plant.task_of("qcm", inst["id"])
        plant.act(answer_by, (t if answer_by == "qe1" else up)["id"], "approve")
        assert plant.todo("qcm") == [] and plant.todo("qe1") == []     # the pair is answered once
        assert plant.instance(inst["id"])["status"] == "running"        # pm has not signed yet
        out = plant.act("pm", plant.task_of("pm", inst["id"])["id"], "approve")
        assert out["instance"]["status"] == "approved"
    # and a rejection by the escalation target rejects the node
    inst = plant.start(plant.ncr()["id"], flow="ncr_both")
    t = plant.task_of("qe1", inst["id"])
    with write_tx(engine) as conn:
        conn.execute(T.wf_task.update().where(T.wf_task.c.id == t["id"]).values(due_at=past))
    w.run_once()
    assert plant.act("qcm", plant.task_of("qcm", inst["id"])["id"], "reject")["instance"]["status"] == "rejected"
