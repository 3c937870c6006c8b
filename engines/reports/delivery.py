"""One scheduled report firing (the worker's ``report.deliver`` event): run the report as the
schedule's user, keep the file, tell the recipients in the inbox and queue e-mail / DingTalk / WeCom
through the workflow engine's notifier. Runs in the event's transaction, keyed by
(report, schedule, due time): a repeated event finds the run and does nothing."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.model import text_of
from mom.engines.records.context import Ctx
from mom.engines.reports import run as runner
from mom.engines.reports import service, store
from mom.platform import file_access, files, outbox
from mom.platform.db import tables as T
from mom.platform.errors import MomError
from mom.platform.hookspecs import hookimpl


def deliver(conn: Connection, forms: Any, settings: Any, payload: Mapping[str, Any], *, now: dt.datetime,
            tz: dt.tzinfo) -> dict[str, Any]:
    name, key = payload["report"], payload["schedule"]
    due = dt.datetime.fromisoformat(payload["due_at"])
    done = conn.execute(sa.select(T.report_run.c.id).where(T.report_run.c.report == name, T.report_run.c.schedule == key,
                                                           T.report_run.c.due_at == due)).scalar()
    if done is not None:
        return {"skipped": "already delivered", "run": int(done)}
    if store.is_retired(conn, "report", name):
        return {"skipped": "report retired"}   # its pack was uninstalled: queued deliveries do not run
    raw, version = store.get(conn, "report", name)
    sched = next((s for i, s in enumerate(raw.get("schedules", [])) if (s.get("key") or f"s{i + 1}") == key), None)
    if sched is None:
        return {"skipped": "schedule removed"}
    users = service.recipients(conn, sched["to"])
    local = due.astimezone(tz)
    title = f"{text_of(raw.get('label'), name)['zh-CN']} · {local:%Y-%m-%d %H:%M}"
    try:
        actor = service.scheduled_actor(conn, sched)
        ctx = Ctx(actor=actor, now=now, tz=tz)
        result = runner.execute(conn, forms, ctx, raw, sched.get("params") or {},
                                max_scan=getattr(settings, "report_max_scan_rows", runner.DEFAULT_MAX_SCAN), version=version)
        result["label"] = raw.get("label")
    except MomError as exc:                         # a report that cannot run is reported, not retried forever
        conn.execute(T.report_run.insert().values(report=name, schedule=key, due_at=due, status="failed",
                                                  error=str(exc)[:4000], created_at=now))
        _inbox(conn, users, f"报表运行失败 / report failed: {title}", str(exc)[:2000], None, now)
        return {"failed": str(exc)}
    fmt = sched.get("format", "xlsx")
    data, media, ext = service.export(result, fmt)
    filename = f"{name}-{local:%Y%m%d-%H%M}.{ext}"
    stored = files.save_bytes(settings, conn, data, filename=filename, content_type=media, created_by=None)
    for uid in users:      # the file is read by those it was delivered to, while they may run the report
        files.add_links(conn, [stored.id], kind="report", name=name, ref_id=uid)
    run_id = conn.execute(T.report_run.insert().values(report=name, schedule=key, due_at=due, status="done",
                                                       rows=len(result["rows"]), attachment_id=stored.id, created_at=now)
                          .returning(T.report_run.c.id)).scalar_one()
    body = _summary(result)
    link = files.link_of(stored.token)
    channels = sched.get("channels") or ["inbox", "email"]
    if "inbox" in channels:
        _inbox(conn, users, title, body, link, now)
    if "email" in channels and (users or sched["to"].get("emails")):
        outbox.emit(conn, "deliver.email", {"users": users, "emails": sched["to"].get("emails") or [], "subject": title,
                                            "body": body, "attachments": [stored.id]}, now=now)
    for ch in ("dingtalk", "wecom"):
        if ch in channels:
            outbox.emit(conn, f"deliver.{ch}", {"webhook_url": sched.get("webhook_url"), "title": title,
                                                "body": f"{body}\n\n下载 / download: {link}"}, now=now)
    return {"run": int(run_id), "attachment": stored.token, "users": users}


def _summary(result: Mapping[str, Any], n: int = 10) -> str:
    header, rows = service.table_of(result)
    lines = [" | ".join(header)] + [" | ".join("" if v is None else str(v) for v in r) for r in rows[:n]]
    if len(rows) > n:
        lines.append(f"…（共 {len(rows)} 行 / {len(rows)} rows）")
    return "\n".join(lines)


def _inbox(conn: Connection, users: list[int], title: str, body: str, link: str | None, now: dt.datetime) -> None:
    if users:
        conn.execute(T.notification.insert(), [{"user_id": u, "kind": "report", "title": title[:500], "body": body,
                                                "link": link, "created_at": now} for u in users])


def handle_report_deliver(worker: Any, conn: Connection, payload: Mapping[str, Any], *, now: dt.datetime,
                          event_id: int) -> dict[str, Any]:
    """The ``report.deliver`` outbox topic: one scheduled run, in the transaction marking the event done."""
    return deliver(conn, worker.forms, worker.settings, payload, now=now, tz=worker.tz)


def _delivery_readable(conn: Connection, forms: Any, actor: Any, link: Any) -> bool:
    """A delivered report file: its recipient, while they may still run the report (the file was made
    under the schedule's permissions, so someone who was not sent it runs the report themselves)."""
    if actor.id is None or actor.id != int(link.ref_id):
        return False
    raw, _ = store.get(conn, "report", link.name)
    return store.may_use(raw, actor)


@hookimpl
def mom_file_owners() -> list[file_access.FileOwner]:
    """Files of scheduled report deliveries (link kind ``report``, ``ref_id`` the recipient)."""
    return [file_access.FileOwner("report", _delivery_readable)]


@hookimpl
def mom_outbox_handlers() -> dict[str, Any]:
    """Scheduled report runs are delivered by the worker through ``report.deliver`` events."""
    return {"report.deliver": handle_report_deliver}
