"""`mom worker`: drains the outbox, fires node timeouts, schedule rules and scheduled reports.

Several workers may run at once against PostgreSQL: events are leased with FOR UPDATE SKIP LOCKED,
each event's effects commit together with its "done" mark, timeouts are marked handled under the
instance lock, and schedule rules move their next run with a compare-and-set. A killed worker's
leased events return to the queue when the lease runs out; nothing it finished is repeated.
External deliveries (webhook, mail, robots) are sent outside any transaction and marked done after;
a crash between the two re-sends, with the same ``X-Mom-Delivery`` id for the receiver to dedupe.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import pluggy
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.engines.forms import fieldtypes
from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.reports import service as report_service
from mom.engines.workflow import rules, timers
from mom.engines.workflow.runtime import Runtime
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform import delivery, outbox
from mom.platform.composition import form_registry, install_record_hooks
from mom.platform.db.engine import write_tx
from mom.platform.settings import Settings

log = logging.getLogger("mom.worker")


class Worker:
    def __init__(self, engine: Engine, settings: Settings, *, forms: FormRegistry | None = None,
                 flows: WorkflowRegistry | None = None, name: str | None = None,
                 plugins: pluggy.PluginManager | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.plugins = plugins     # None: the process's plug-in manager (channels and handlers are cached)
        self.forms = forms or form_registry(pm=plugins)
        self.flows = flows or (install_record_hooks(self.forms, pm=plugins) if self.forms.hooks is None else self.forms.hooks.flows)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) % 10000}"
        self.tz = fieldtypes.plant_tz(settings.timezone)
        delivery.channels(plugins)          # two plug-ins with one channel/topic: a Conflict naming both, at start
        delivery.outbox_handlers(plugins)

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def _rt(self, conn: sa.engine.Connection, now: dt.datetime) -> Runtime:
        return Runtime(conn=conn, ctx=Ctx(actor=SYSTEM, now=now, tz=self.tz), forms=self.forms, flows=self.flows)

    # ------------------------------------------------------------ one round
    def run_once(self) -> dict[str, int]:
        """Fire due schedules and timeouts, then handle one batch of events. Returns counts."""
        now = self._now()
        fired = self._schedules("schedule rules", rules.due_schedules, now) + \
            self._schedules("report schedules", report_service.due_schedules, now)
        handled = 0
        with write_tx(self.engine) as conn:
            due = timers.due_tasks(conn, now)
        for task_id in due:
            handled += self._timeout(task_id, now)
        with write_tx(self.engine) as conn:
            batch = outbox.claim(conn, self.name, now=now, limit=self.settings.worker_batch,
                                 lease_seconds=self.settings.worker_lease_seconds)
        done = failed = 0
        for ev in batch:
            if self.process(ev):
                done += 1
            else:
                failed += 1
        return {"schedules": fired, "timeouts": handled, "events": done, "failed": failed}

    def _schedules(self, what: str, fire: Callable[..., int], now: dt.datetime) -> int:
        """Fire one kind of schedule in a transaction of its own: a failure is logged and the round goes on."""
        try:
            with write_tx(self.engine) as conn:
                return fire(conn, now=now, tz=self.tz)
        except Exception:  # noqa: BLE001 - one broken schedule must not stop timeouts and the outbox
            log.exception("firing %s failed", what)
            return 0

    def _timeout(self, task_id: int, now: dt.datetime) -> int:
        """Handle one overdue task in a transaction of its own. A failure (e.g. an instance whose stored
        state this code cannot read) is logged and marked on the task, which is then not retried."""
        try:
            with write_tx(self.engine) as conn:
                return int(timers.handle_timeout(self._rt(conn, now), task_id) is not None)
        except Exception as exc:  # noqa: BLE001 - one broken instance must not stop the others and the outbox
            detail = f"{type(exc).__name__}: {exc}"
            log.warning("timeout of task %s failed: %s", task_id, detail)
            try:
                with write_tx(self.engine) as conn:
                    timers.mark_failed(conn, task_id, detail, now=now)
            except Exception:  # noqa: BLE001 - e.g. the database is gone: the next round retries
                log.exception("could not mark the timeout of task %s as failed", task_id)
            return 0

    def drain(self, max_rounds: int = 1000) -> dict[str, int]:
        """Run rounds until nothing is due (tests, benchmarks, `mom worker --once`)."""
        total = {"schedules": 0, "timeouts": 0, "events": 0, "failed": 0}
        for _ in range(max_rounds):
            got = self.run_once()
            for k, v in got.items():
                total[k] += v
            if not any(got.values()):
                break
        return total

    def process(self, ev: Mapping[str, Any]) -> bool:
        topic, eid = ev["topic"], int(ev["id"])
        try:
            if topic.startswith("deliver."):
                self.deliver(topic, ev["payload"], eid)   # outside any transaction: never hold locks on the network
                with write_tx(self.engine) as conn:
                    if outbox.still_mine(conn, eid, self.name):
                        outbox.done(conn, eid, now=self._now())
                return True
            with write_tx(self.engine) as conn:
                if not outbox.still_mine(conn, eid, self.name):
                    return True                            # another worker took it over after our lease ran out
                now = self._now()
                handler = delivery.outbox_handlers(self.plugins).get(topic)
                if handler is not None:
                    handler(self, conn, ev["payload"], now=now, event_id=eid)
                else:                                      # every other topic is an event rules may listen to
                    rules.dispatch(self._rt(conn, now), topic, ev["payload"], eid)
                outbox.done(conn, eid, now=now)
            return True
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the event and retried
            detail = f"{type(exc).__name__}: {exc}"
            log.warning("event %s (%s) failed: %s", eid, topic, detail)
            with write_tx(self.engine) as conn:
                outbox.failed(conn, eid, self.name, detail + "\n" + traceback.format_exc(limit=3), now=self._now(),
                              max_attempts=self.settings.worker_max_attempts)
            return False

    # ------------------------------------------------------------ deliveries
    def deliver(self, topic: str, payload: Mapping[str, Any], eid: int) -> None:
        """Send a ``deliver.<key>`` event through the channel of that key (``mom.platform.delivery``)."""
        ch = delivery.channel(topic.removeprefix("deliver."), self.plugins)
        ch.send(delivery.DeliveryContext(self.engine, self.settings), payload, eid)

    # ------------------------------------------------------------ loop
    def run(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                got = self.run_once()
            except Exception:  # noqa: BLE001 - keep the loop alive (database restarts, etc.)
                log.exception("worker round failed")
                got = {}
            if not any(got.values()):
                stop.wait(self.settings.worker_poll_seconds)


def start_background(engine: Engine, settings: Settings, forms: FormRegistry) -> tuple[threading.Thread, threading.Event]:
    """The in-process worker of `mom serve` (single-machine setup)."""
    stop = threading.Event()
    worker = Worker(engine, settings, forms=forms)
    thread = threading.Thread(target=worker.run, args=(stop,), name="mom-worker", daemon=True)
    thread.start()
    return thread, stop
