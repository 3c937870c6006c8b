"""What a scanned job report costs and still does (issue 19, throughput): the task found by its QR code
with its order locked and the names for the answer in one read, the forms looked up together, the
task's and the order's audit entries in their UPDATEs, the report's number, INSERT, audit entry and names in one
statement on PostgreSQL — and the answer, the audit trail, the idempotent
client_id and the reference checks a user sees stay what they were. SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from mom.engines.production import reports as RP
from mom.engines.records.context import Ctx, actor_by_username
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.integration.test_production import Shop, shop  # noqa: F401  (the fixture)
from tests.integration.test_quality_ipqc import install_quality

#: statements of one POST /api/production/reports by QR code, the request's own sign-in included,
#: measured 2026-12-05: 5 on PostgreSQL (the sign-in's token; the forms, the quality pack's with them; the
#: task named by the code with its order and the order's tasks locked, the names, the machines' times, the
#: calendars' versions and the client_id — engines/production/scan.py; the task's and the order's UPDATEs
#: with their audit entries; the report's number, INSERT, audit entry and names), 11 on SQLite (the
#: UPDATEs, the number, the audit entries and the names each a statement of their own). A report that
#: needs more than this has lost one of the reads or writes put together.
MAX_STATEMENTS = {"postgresql": 5, "sqlite": 11}
#: with the quality pack installed, the first-article / patrol check of a report whose item has no IPQC
#: plan: one narrow read (is there a plan for the order's item), nothing more
QUALITY_PACK = 1


def _released(shop: Shop) -> dict[str, Any]:
    """A released order of 10 valves: its tasks, and its id."""
    so = shop.find("sales_order")[0]
    order = shop.post("/api/records/production_order", {"item": so["lines"][0]["item"], "qty": 10,
                                                        "due_date": "2030-12-15 17:00"}, who="plan1", status=201)
    return {**shop.post(f"/api/production/orders/{order['code']}/release", who="plan1"), "id": order["id"]}


class Statements:
    """SQL statements the engine runs inside the block."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine, self.n = engine, 0

    def _seen(self, *a: Any, **__: Any) -> None:
        self.n += 1

    def __enter__(self) -> "Statements":
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: Any) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_scanned_report_answers_with_names_and_reads_little(shop: Shop) -> None:
    released = _released(shop)
    casting = next(t for t in released["tasks"] if t["seq"] == 10)
    shop.report(casting["code"], "start")        # the order starts (its own transition), the forms are compiled
    with Statements(shop.engine) as seen:
        out = shop.report(casting["code"], "report", good_qty=2)
    n = seen.n
    assert out["duplicate"] is False and out["report"]["good_qty"] == 2
    assert out["task"]["work_center_name"] == "铸造工段" and out["task"]["machine_name"] == "中频感应炉 1号"
    assert out["task"]["status"] == "running" and out["task"]["good_qty"] == 2
    assert out["order"]["status"] == "started" and out["order"]["code"] == released["code"]
    shown = out["report"]["_display"]
    assert shown["task"] == casting["code"] and shown["production_order"] == released["code"]
    assert n <= MAX_STATEMENTS[shop.engine.dialect.name], f"a scanned job report ran {n} SQL statements"

    # the same client_id twice: counted once, the first report answered
    first = shop.report(casting["code"], "report", good_qty=1, client_id="scan-0001")
    again = shop.report(casting["code"], "report", good_qty=1, client_id="scan-0001")
    assert again["duplicate"] is True and again["report"]["id"] == first["report"]["id"]
    assert shop.progress(released["id"])["tasks"][0]["good_qty"] == 3


def test_the_quality_pack_without_a_plan_for_the_item_costs_one_read(shop: Shop) -> None:
    """The quality pack's hooks act on every job report (first-article block, patrols); for an item without an
    IPQC plan they cost one statement, and a plan for another item changes nothing; the first start of a
    task under a plan still opens its first-article lot."""
    install_quality(shop.engine)
    released = _released(shop)
    casting = next(t for t in released["tasks"] if t["seq"] == 10)
    shop.report(casting["code"], "start")
    other = next(i for i in shop.find("item") if i["code"] != "FG-V50")
    shop.post("/api/records/inspection_plan", {"name": "别的物料的首检", "inspection_type": "ipqc_first", "item": other["id"],
                                                "operation": "", "characteristics": []}, who="admin", status=201)
    with Statements(shop.engine) as seen:
        out = shop.report(casting["code"], "report", good_qty=2)
    assert out["task"]["good_qty"] == 2 and out["order"]["status"] == "started"
    limit = MAX_STATEMENTS[shop.engine.dialect.name] + QUALITY_PACK
    assert seen.n <= limit, f"a scanned job report with the quality pack ran {seen.n} SQL statements"

    valve = next(i for i in shop.find("item") if i["code"] == "FG-V50")
    shop.post("/api/records/inspection_plan", {"name": "闸阀首检", "inspection_type": "ipqc_first", "item": valve["id"],
                                                "operation": "", "characteristics": []}, who="admin", status=201)
    second = _released(shop)
    first_task = next(t for t in second["tasks"] if t["seq"] == 10)
    shop.report(first_task["code"], "start")
    lots = shop.get(f"/api/records/inspection_lot?operation_task={first_task['id']}&limit=10")["items"]
    assert [lt["inspection_type"] for lt in lots] == ["ipqc_first"]


def test_the_task_and_the_order_keep_one_audit_entry_each_per_report(shop: Shop) -> None:
    released = _released(shop)
    casting = next(t for t in released["tasks"] if t["seq"] == 10)
    shop.report(casting["code"], "start")
    shop.report(casting["code"], "report", good_qty=4)
    task_trail = shop.get(f"/api/records/operation_task/{casting['id']}/audit")
    order_trail = shop.get(f"/api/records/production_order/{released['id']}/audit")
    counted = [e for e in task_trail if e["action"] == "update" and "good_qty" in e["changes"]]
    assert len(counted) == 1 and counted[0]["changes"]["good_qty"] == [0, 4]
    assert counted[0]["actor_id"] is not None and counted[0]["actor"] != "system"      # the operator, as the engine acted for them
    order_updates = [e for e in order_trail if e["action"] == "update"]
    assert [e["changes"].get("status") for e in order_updates[-2:]] == [["released", "started"], None]
    assert "expected_finish" in order_updates[-1]["changes"]      # 4 pieces less work left: the roll-up's entry
    assert order_updates[-1]["at"] >= counted[0]["at"]   # the start's entry, then the report's roll-up: one each


def test_a_job_report_through_the_record_api_still_checks_its_references(shop: Shop) -> None:
    """The record service's own create (no scanner) looks every reference up: an unknown task or
    operator is refused with the field named, nothing stored."""
    before = shop.reports()
    r = shop.client.post("/api/records/job_report", json={"task": 999999, "event": "report", "good_qty": 1},
                         headers=shop.h("plan1"))
    assert r.status_code == 422 and "/task" in r.text
    released = _released(shop)
    casting = next(t for t in released["tasks"] if t["seq"] == 10)
    r = shop.client.post("/api/records/job_report", json={"task": casting["id"], "event": "report", "good_qty": 1,
                                                          "operator": 999999}, headers=shop.h("plan1"))
    assert r.status_code == 422 and "/operator" in r.text
    assert shop.reports() == before
    with write_tx(shop.engine) as conn:
        assert conn.execute(sa.text("SELECT good_qty FROM operation_task WHERE id = :i"), {"i": casting["id"]}).scalar_one() == 0


def test_the_same_report_sent_twice_at_once_counts_once(shop: Shop) -> None:
    """A scanner that retries while its first post is still being written: the second waits on the order's
    lock and, once the first is committed, answers the first report (duplicate) instead of a conflict — the
    one read that finds the task, locks the order and asks about the client_id notices it waited and reads
    again. Another operation of the same order reported at the same time is counted as its own."""
    released = _released(shop)
    casting = next(t for t in released["tasks"] if t["seq"] == 10)
    shop.report(casting["code"], "start")
    forms = form_registry()
    with read_tx(shop.engine) as conn:
        op1 = actor_by_username(conn, "op1")
    first_in = threading.Event()
    results: list[Any] = [None, None]

    def post(i: int) -> None:
        try:
            with write_tx(shop.engine) as conn:
                results[i] = RP.report(conn, forms, Ctx(actor=op1, now=Ctx.system().now),
                                       {"task": casting["code"], "event": "report", "good_qty": 2, "client_id": "retry-1"})
                if i == 0:
                    first_in.set()
                    time.sleep(0.4)     # hold the order's lock: the retry is waiting for it meanwhile
        except Exception as exc:        # noqa: BLE001 - the test shows what the retry got
            results[i] = exc
            first_in.set()

    first = threading.Thread(target=post, args=(0,))
    first.start()
    assert first_in.wait(30)
    retry = threading.Thread(target=post, args=(1,))
    retry.start()
    first.join(30)
    retry.join(30)
    assert isinstance(results[0], dict) and results[0]["duplicate"] is False, results
    assert isinstance(results[1], dict) and results[1]["duplicate"] is True, results
    assert results[1]["report"]["id"] == results[0]["report"]["id"]
    with read_tx(shop.engine) as conn:
        stored = conn.execute(sa.text("SELECT count(*), sum(good_qty) FROM job_report WHERE task = :t AND event = 'report'"),
                              {"t": casting["id"]}).one()
    assert (int(stored[0]), float(stored[1])) == (1, 2.0)
    assert shop.progress(released["id"])["tasks"][0]["good_qty"] == 2
