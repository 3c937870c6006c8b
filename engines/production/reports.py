"""Job reports (报工) and their rules. A report's event moves its operation task:

- ``start``: ready | paused -> running (the task's actual_start, the order's started_at and status);
- ``pause``: running -> paused; ``resume``: paused -> running;
- ``report``: adds the quantities (a ready task starts with it);
- ``finish``: adds the quantities, the task is done (actual_end) and the next one ready.

A waiting task (its predecessor has not finished, nor passed a transfer batch) takes no report, a
``report`` with no quantity neither (a ``finish`` may carry none), scrap needs its reason. The good
and scrapped quantities of a task together may not exceed what reached it — its predecessor's good —
× (1 + tolerance); the first task's limit is the order quantity × (1 + tolerance); the tolerance is the setting
``MOM_PRODUCTION_OVERRUN`` (percent, default 0). The order's row and then the task's are locked
(FOR UPDATE on PostgreSQL; SQLite runs one writer at a time), so two operators reporting the same
task at once are counted one after the other and never together exceed the limit. An operator (no
planner or supervisor role, not an administrator) reports as themselves and now: the operator and a
time more than :data:`CLOCK_SLACK` away are a planner's or supervisor's corrections.

:func:`apply_report` is the one place these rules live: the record hook on ``job_report`` create
calls it for every new report, whichever path created it (POST /api/records/job_report, an import,
:func:`report`). :func:`report` adds what a scanner needs on top: the task named by its code (the
QR) and the idempotency key — the same ``client_id`` twice counts once, the second call returning
the first report.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.production import backflush as BF
from mom.engines.production import documents as D
from mom.engines.production import progress as P
from mom.engines.production.scan import scan
from mom.engines.records import service as S
from mom.engines.records import uniqueness
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.records.lookup import vouch
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem

EVENTS = ("start", "pause", "resume", "report", "finish")
_EVENT_ZH = {"start": "开工", "pause": "暂停", "resume": "继续", "report": "报数", "finish": "完工"}
_STATUS_ZH = {"waiting": "待开工", "ready": "可开工", "running": "进行中", "paused": "暂停", "done": "已完成"}
#: event -> {task status it may come in -> the status it leaves}
_MOVES: dict[str, dict[str, str]] = {
    "start": {"ready": "running", "paused": "running"},
    "pause": {"running": "paused"},
    "resume": {"paused": "running"},
    "report": {"ready": "running", "running": "running", "paused": "paused"},
    "finish": {"ready": "done", "running": "done", "paused": "done"},
}
#: roles that may report for someone else or at another time (corrections)
CORRECTORS = frozenset({"planner", "supervisor"})
#: how far an operator's reported_at may be from the server's clock (a scanner's clock, a slow network)
CLOCK_SLACK = dt.timedelta(minutes=10)
QTY_KEYS = ("good_qty", "scrap_qty", "rework_qty")


def overrun_percent() -> Decimal:
    """The plant's overrun tolerance in percent (setting ``production_overrun``), read when asked."""
    from mom.platform.settings import get_settings   # never at import: settings are overridden in tests

    try:
        value = Decimal(str(getattr(get_settings(), "production_overrun", 0) or 0))
    except InvalidOperation:
        return D.ZERO
    return max(value, D.ZERO)


# ---------------------------------------------------------------- the rules (every write path)

def apply_report(conn: Connection, forms: Any, ctx: Ctx, values: dict[str, Any], *, path: str = "") -> None:
    """Check one new job report's ``values`` (its task already an id) against its task and order,
    fill its order and machine, move the task and recompute the order. Raises, writing nothing of
    its own, when a rule refuses it; runs in the writer's transaction before the report is stored."""
    try:
        _apply(conn, forms, ctx, values, path)
    finally:
        D.held(conn).clear()        # held for this report only: a later write in the transaction may not be the engine's


#: ``conn.info`` key: {task id: (task, order)} as the last report on the task left them, for the answer
APPLIED = "mom_production_applied"


def _apply(conn: Connection, forms: Any, ctx: Ctx, values: dict[str, Any], path: str) -> None:
    task_form, order_form = D.compiled(conn, forms, D.TASK), D.compiled(conn, forms, D.ORDER)
    task_id = int(values["task"])
    order = D.order_of_task(conn, forms, task_id)       # the order first, then its tasks: one lock order
    if order is None:
        if D.row(conn, task_form, task_id) is None:
            raise InvalidInput("找不到这道工序任务", "no such operation task", problems=[Problem(f"{path}/task", "不存在", "not found")])
        raise InvalidInput("这道工序任务的生产工单已删除", "the operation task's production order was deleted")
    order_id = int(order["id"])
    tasks = D.held(conn).pop(("tasks", order_id), None) or P.order_tasks(conn, forms, order_id, lock=True)
    index = next((i for i, t in enumerate(tasks) if t["id"] == task_id), None)
    if index is None:
        raise InvalidInput("这道工序任务的生产工单已删除", "the operation task's production order was deleted")
    task = tasks[index]
    values["production_order"] = order_id
    if values.get("machine") is None and task.get("machine") is not None:
        values["machine"] = task["machine"]
    if order["status"] not in P.LIVE_ORDERS:
        raise Conflict(f"生产工单 {order['code']} 状态为「{_order_status_zh(order_form, order['status'])}」，不能报工；"
                       "只有已下达或生产中的工单可以报工",
                       f"production order {order['code']} is {order['status']}: only released or started orders take job reports",
                       detail={"order_status": order["status"]})
    event = values.get("event")
    title = D.task_title(task)
    target = _move(event, task, title, path)
    good, scrap, rework = (D.dec(values.get(k)) for k in QTY_KEYS)
    _check_quantities(event, good, scrap, rework, values, path)
    _check_reporter(ctx, values, path)
    new_good = D.dec(task.get("good_qty")) + good
    if good > 0 or scrap > 0:
        _check_limit(order, tasks, index, task, good, scrap, path)
    BF.plan(conn, forms, order, tasks, index, good + scrap, good, path)     # backflush, receipt: refused before any write
    at = values.get("reported_at") or ctx.now
    patch: dict[str, Any] = {"status": target, "good_qty": new_good,
                             "scrap_qty": D.dec(task.get("scrap_qty")) + scrap,
                             "rework_qty": D.dec(task.get("rework_qty")) + rework}
    if task.get("actual_start") is None and target in ("running", "paused", "done"):
        patch["actual_start"] = at
    if target == "done":
        patch["actual_end"] = at
    writes = [(task, patch)]
    if index + 1 < len(tasks):
        nxt = tasks[index + 1]
        batch = D.dec(task.get("transfer_batch"))
        if nxt.get("status") == "waiting" and (target == "done" or (batch > 0 and new_good >= batch)):
            writes.append((nxt, {"status": "ready"}))
    # the task's and the order's UPDATEs with their audit entries in one statement on PostgreSQL (their
    # after_update hooks run after it), their audit entries in one INSERT on SQLite
    with D.one_audit_insert(conn), D.written_together(conn):
        written = {int(r["id"]): r for r in D.write(conn, forms, ctx, D.TASK, writes)}
        tasks = [written.get(int(t["id"]), t) for t in tasks]
        P.rollup(conn, forms, ctx, order_id, tasks=tasks)
    if APPLIED in conn.info:        # :func:`report` is asking
        conn.info[APPLIED][task_id] = (written[task_id], D.held(conn).get((D.ORDER, order_id)))


def _order_status_zh(compiled: Any, status: str) -> str:
    f = compiled.definition.field("status")
    for o in (f.raw.get("options") if f is not None else None) or []:
        if o.get("value") == status:
            return str(o.get("label", {}).get("zh-CN") or status)
    return status


def _move(event: Any, task: Mapping[str, Any], title: str, path: str) -> str:
    status = task.get("status")
    moves = _MOVES.get(str(event))
    if moves is None:
        raise InvalidInput(f"报工事件 {event} 不认识：可用 {'、'.join(f'{k}（{v}）' for k, v in _EVENT_ZH.items())}",
                           f"unknown job report event {event}: use one of {', '.join(EVENTS)}",
                           problems=[Problem(f"{path}/event", "不认识的事件", "unknown event", "enum")])
    if status in moves:
        return moves[status]
    zh_event, zh_status = _EVENT_ZH[str(event)], _STATUS_ZH.get(str(status), str(status))
    if status == "waiting":
        hint, hint_en = "上道工序还没有完工（或还没有转来一批）：请等上道工序报工后再开工", \
            "its previous operation has not finished (nor passed a transfer batch): report that one first"
    elif status == "done":
        hint, hint_en = "这道工序已完工，不能再报工；如数量有误请联系车间主任", \
            "this operation is done and takes no more reports; ask the supervisor to correct a quantity"
    else:
        allowed = "、".join(_EVENT_ZH[e] for e, m in _MOVES.items() if status in m)
        hint, hint_en = f"当前可以：{allowed}", f"possible now: {', '.join(e for e, m in _MOVES.items() if status in m)}"
    raise Conflict(f"工序 {title} 状态为「{zh_status}」，不能{zh_event}：{hint}",
                   f"operation {title} is {status}; it cannot take '{event}': {hint_en}",
                   detail={"task_status": status, "event": event},
                   problems=[Problem(f"{path}/event", f"工序状态为「{zh_status}」", f"the operation is {status}", "state")])


def _check_quantities(event: Any, good: Decimal, scrap: Decimal, rework: Decimal, values: Mapping[str, Any],
                      path: str) -> None:
    """No negative quantity; a ``report`` counts something; scrap names its reason."""
    for key, v in zip(QTY_KEYS, (good, scrap, rework)):
        if v < 0:
            raise InvalidInput("报工数量不能为负数：数量有误请联系车间主任更正",
                               "a job report's quantities cannot be negative; ask the supervisor to correct a quantity",
                               problems=[Problem(f"{path}/{key}", "不能为负数", "cannot be negative", "minimum")])
    if event == "report" and good == 0 and scrap == 0 and rework == 0:
        raise InvalidInput("本次报工没有数量：请填写合格数、报废数或返工数（完工可以不填数量）",
                           "this job report counts nothing: give a good, scrap or rework quantity (a finish may carry none)",
                           problems=[Problem(f"{path}/good_qty", "本次报工没有数量", "nothing counted", "required")])
    if scrap > 0 and values.get("scrap_reason") in (None, ""):
        raise InvalidInput("有报废数量时请选择报废原因", "scrapped pieces need a scrap reason: pick one",
                           problems=[Problem(f"{path}/scrap_reason", "有报废数量时请选择报废原因",
                                             "required when scrap is reported", "required")])


def _check_reporter(ctx: Ctx, values: Mapping[str, Any], path: str) -> None:
    """An operator reports as themselves, at the server's time; planners and supervisors may correct both."""
    actor = ctx.actor
    if actor.is_admin or actor.id is None or (CORRECTORS & actor.role_names):
        return
    operator = values.get("operator")
    if operator is not None and str(operator) != str(actor.id):
        raise AccessDenied("操作工只能以自己的名义报工：报工人由系统记录为当前登录的人；替别人报工请找计划员或车间主任",
                           "an operator reports as themselves (the operator is who is signed in); a planner or "
                           "supervisor reports for someone else",
                           problems=[Problem(f"{path}/operator", "只能是自己", "must be yourself", "forbidden")])
    at = values.get("reported_at")
    if isinstance(at, dt.datetime):
        now = ctx.now
        if (at.tzinfo is None) != (now.tzinfo is None):
            at, now = at.replace(tzinfo=None), now.astimezone(dt.timezone.utc).replace(tzinfo=None) \
                if now.tzinfo is not None else now
        if abs(at - now) > CLOCK_SLACK:
            raise InvalidInput("报工时间由系统记录，不能改：请不填报工时间；补报或更正请找计划员或车间主任",
                               "the report's time is the server's: leave reported_at out; a planner or supervisor "
                               "enters late reports and corrections",
                               problems=[Problem(f"{path}/reported_at", "报工时间由系统记录，不能改",
                                                 "set by the system", "forbidden")])


def _check_limit(order: Mapping[str, Any], tasks: list[dict[str, Any]], index: int, task: Mapping[str, Any],
                 good: Decimal, scrap: Decimal, path: str) -> None:
    """Good + scrap of the task may not exceed what reached it × (1 + tolerance), said with the numbers."""
    tolerance = overrun_percent()
    base = D.dec(order["qty"]) if index == 0 else D.dec(tasks[index - 1].get("good_qty"))
    limit = base * (1 + tolerance / 100)
    had_scrap = D.dec(task.get("scrap_qty"))
    had_good = D.dec(task.get("good_qty"))
    if had_good + had_scrap + good + scrap <= limit:
        return
    if scrap > 0 or had_scrap > 0:
        _refuse_with_scrap(order, tasks, index, task, good, scrap, base, limit, tolerance, path)
    new_good = had_good + good
    unit = order.get("unit") or ""
    had = had_good
    q = D.qty_text
    if index == 0:
        basis, basis_en = f"工单数量 {q(base)}{unit}", f"the order quantity {q(base)}"
    else:
        prev = D.task_title(tasks[index - 1])
        basis, basis_en = f"上道工序 {prev} 的合格数 {q(base)}{unit}", f"the good quantity {q(base)} of the previous operation {prev}"
    room = max(limit - had, D.ZERO)
    tol_zh = f"（允许超出 {q(tolerance)}%）" if tolerance else ""
    tol_en = f" (overrun tolerance {q(tolerance)}%)" if tolerance else ""
    raise InvalidInput(
        f"工序 {D.task_title(task)} 的合格数不能超过{basis}{tol_zh}：已报 {q(had)}{unit}，本次 {q(good)}{unit}，"
        f"合计 {q(new_good)}{unit}，最多还能报 {q(room)}{unit}；请核对数量",
        f"operation {D.task_title(task)} cannot pass more good than {basis_en}{tol_en}: {q(had)} reported before, "
        f"{q(good)} now, {q(new_good)} in all; at most {q(room)} more can be reported",
        detail={"limit": q(limit), "reported": q(had), "requested": q(good), "remaining": q(room)},
        problems=[Problem(f"{path}/good_qty", f"最多还能报 {q(room)}", f"at most {q(room)} more", "over_limit")])


def _refuse_with_scrap(order: Mapping[str, Any], tasks: list[dict[str, Any]], index: int, task: Mapping[str, Any],
                       good: Decimal, scrap: Decimal, base: Decimal, limit: Decimal, tolerance: Decimal, path: str) -> None:
    unit, q = order.get("unit") or "", D.qty_text
    had_good, had_scrap = D.dec(task.get("good_qty")), D.dec(task.get("scrap_qty"))
    had, now = had_good + had_scrap, good + scrap
    room = max(limit - had, D.ZERO)
    if index == 0:
        basis, basis_en = f"工单数量 {q(base)}{unit}", f"the order quantity {q(base)}"
    else:
        prev = D.task_title(tasks[index - 1])
        basis, basis_en = f"上道工序 {prev} 的合格数 {q(base)}{unit}", f"the good quantity {q(base)} of the previous operation {prev}"
    tol_zh = f"（允许超出 {q(tolerance)}%）" if tolerance else ""
    tol_en = f" (overrun tolerance {q(tolerance)}%)" if tolerance else ""
    title = D.task_title(task)
    raise InvalidInput(
        f"工序 {title} 的合格数加报废数不能超过{basis}{tol_zh}：已报合格 {q(had_good)}{unit}、报废 {q(had_scrap)}{unit}，"
        f"本次合格 {q(good)}{unit}、报废 {q(scrap)}{unit}，合计 {q(had + now)}{unit}，最多还能报 {q(room)}{unit}；请核对数量",
        f"operation {title} cannot count more good and scrap than {basis_en}{tol_en}: {q(had_good)} good and "
        f"{q(had_scrap)} scrap before, {q(good)} good and {q(scrap)} scrap now, {q(had + now)} in all; "
        f"at most {q(room)} more can be reported",
        detail={"limit": q(limit), "reported": q(had), "requested": q(now), "remaining": q(room)},
        problems=[Problem(f"{path}/{'scrap_qty' if scrap > 0 else 'good_qty'}", f"最多还能报 {q(room)}",
                          f"at most {q(room)} more", "over_limit")])


# ---------------------------------------------------------------- the scanner's entry point

def report(conn: Connection, forms: Any, ctx: Ctx, doc: Any) -> dict[str, Any]:
    """One job report from a scanner, the API or the CLI: ``doc`` is a job report whose ``task`` is
    the task's id or code (``task_code`` also read). The same ``client_id`` again returns the first
    report (``duplicate: true``) and counts nothing. Returns ``{report, duplicate, task, order}``."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("报工内容应为 JSON 对象", "a job report must be a JSON object")
    D.require_core(conn, forms)
    body = {k: v for k, v in doc.items() if k != "task_code"}
    task_form, report_form = D.compiled(conn, forms, D.TASK), D.compiled(conn, forms, D.REPORT)
    form_access(report_form, ctx.actor).require("create")
    named = doc.get("task", doc.get("task_code"))
    if isinstance(named, bool) or named is None or (not isinstance(named, (int, str))):
        raise InvalidInput("请指定工序任务（扫描流转卡上工序的二维码，或填写任务编号）",
                           "name the operation task (scan the operation's QR on the traveler, or type its code)",
                           problems=[Problem("/task", "必填", "required", "required")])
    client_id = body.get("client_id")
    cid = client_id.strip() if isinstance(client_id, str) and client_id.strip() else None
    # the common case, a scanned code: the task, its order and the order's tasks locked, the names for the
    # answer and whether the client_id was used, in one read (a task named otherwise: found first)
    hit = scan(conn, forms, code=named.strip(), client_id=cid) if isinstance(named, str) and named.strip() else None
    task = hit.task if hit is not None else D.resolve(conn, task_form, named, "/task")
    if hit is None:
        hit = scan(conn, forms, task_id=int(task["id"]), client_id=cid)
        task = hit.task if hit is not None else task
    names, used = (hit.names, hit.used) if hit is not None else (None, None)
    body["task"] = int(task["id"])
    for key, form in (("scrap_reason", "scrap_reason"), ("machine", D.MACHINE)):
        if isinstance(body.get(key), str) and body[key].strip():      # a code (R01, CNC-1) as a scanner sends it
            found = D.by_code(conn, D.compiled(conn, forms, form), body[key].strip())
            if found is not None:
                body[key] = int(found["id"])
    D.held(conn)[("task_order", int(task["id"]))] = int(task["production_order"])
    if hit is not None:
        vouch(conn, D.TASK, [int(task["id"])])      # locked and live: the report's reference is not read again
    if cid is not None and used is False and body.get("client_id") == cid:
        uniqueness.vouch_free(conn, D.REPORT, "client_id", [cid])     # read just now: the create does not read it again
    if cid is not None and used is not False:
        earlier = D.rows(conn, report_form, report_form.main.c.client_id == cid)
        if earlier:
            D.held(conn).clear()
            if int(earlier[0]["task"]) == int(task["id"]):
                _same_as_earlier(earlier[0], body, cid)
            doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=D.REPORT, record_id=int(earlier[0]["id"]))
            return _answer(conn, forms, doc, task["id"], duplicate=True, asked=body)
    # read before the report's number is taken (its sequence row stays locked until the commit, so every
    # other report of the plant waits on what follows): the names for the answer, the forms it shows
    if names is None:
        names = {form: D.names(conn, forms, form, [task.get(key)]) for key, form in (("work_center", "work_center"),
                                                                                    ("machine", D.MACHINE))}
    for f in report_form.definition.scalar_fields:
        if f.raw.get("form") and f.type == "reference":
            D.compiled(conn, forms, str(f.raw["form"]))
    conn.info[APPLIED], conn.info[BF.POSTED] = {}, []
    try:
        created = S.create_records(conn=conn, registry=D.TxForms(forms), ctx=ctx, form=D.REPORT, docs=[body])[0]
        answer = _answer(conn, forms, created, task["id"], duplicate=False, asked=body, names=names)
        answer["stock"] = conn.info[BF.POSTED]       # what the report backflushed and received (倒冲、完工入库)
        return answer
    finally:
        conn.info.pop(APPLIED, None)
        conn.info.pop(BF.POSTED, None)
        D.held(conn).pop(D.TASK_TIMES, None)
        D.held(conn).pop(D.TASK_CALENDARS, None)


def _same_as_earlier(earlier: Mapping[str, Any], body: Mapping[str, Any], client_id: str) -> None:
    """A repeated ``client_id`` is the same report sent again: refuse it (409) when its event or a
    quantity differs from the first, saying which."""
    diffs_zh, diffs_en = [], []
    if str(body.get("event")) != str(earlier.get("event")):
        diffs_zh.append(f"事件 第一次「{_EVENT_ZH.get(str(earlier.get('event')), earlier.get('event'))}」、"
                        f"这次「{_EVENT_ZH.get(str(body.get('event')), body.get('event'))}」")
        diffs_en.append(f"event {earlier.get('event')} then {body.get('event')}")
    for key, zh in (("good_qty", "合格数"), ("scrap_qty", "报废数"), ("rework_qty", "返工数")):
        try:
            now = D.dec(body.get(key))
        except (InvalidOperation, ValueError, TypeError):
            now = None
        before = D.dec(earlier.get(key))
        if now != before:
            shown = D.qty_text(now) if now is not None else str(body.get(key))
            diffs_zh.append(f"{zh} 第一次 {D.qty_text(before)}、这次 {shown}")
            diffs_en.append(f"{key} {D.qty_text(before)} then {shown}")
    if diffs_zh:
        raise Conflict(f"防重号 {client_id} 已用于报工 {earlier.get('code')}，但这次内容不同（{'；'.join(diffs_zh)}）："
                       "如果是新的报工，请换一个新的防重号",
                       f"client_id {client_id} was already used by job report {earlier.get('code')} with other values "
                       f"({'; '.join(diffs_en)}): send a new client_id for a new report",
                       detail={"report": earlier.get("code"), "differs": diffs_en})


def _answer(conn: Connection, forms: Any, doc: dict[str, Any], task_id: int, *, duplicate: bool,
            asked: Mapping[str, Any], names: Mapping[str, Mapping[int, str]] | None = None) -> dict[str, Any]:
    if duplicate and doc.get("task") != task_id:
        raise Conflict(f"防重号 {asked.get('client_id')} 已用于另一道工序的报工 {doc.get('code')}：请为这次报工换一个新的防重号",
                       f"client_id {asked.get('client_id')} was already used by job report {doc.get('code')} of another "
                       "operation: send a new one for this report", detail={"report": doc.get("code")})
    task_form, order_form = D.compiled(conn, forms, D.TASK), D.compiled(conn, forms, D.ORDER)
    task, order = (conn.info.get(APPLIED) or {}).pop(task_id, (None, None)) if not duplicate else (None, None)
    task = task or D.row(conn, task_form, task_id) or {}
    order = order or D.row(conn, order_form, int(task["production_order"])) or {}
    keys = ("status", "good_qty", "scrap_qty", "progress", "current_operation", "expected_finish", "on_time")
    order_view = {"id": order.get("id"), "code": order.get("code"),
                  **{k: fieldtypes.dump(order_form.definition.field(k), order.get(k)) for k in keys}}
    return {"report": doc, "duplicate": duplicate, "task": P.task_view(conn, forms, task_form, task, names),
            "order": order_view}
