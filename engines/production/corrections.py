"""Corrections of job reports (报工更正). A job report is a fact that happened: it is never edited nor
deleted (the record hooks refuse both, saying how to correct). A wrong quantity is put right by a new
job report of event ``correct`` that names the report it corrects (``corrects``) and why (``reason``),
and carries the **change** of each quantity: good ``-5`` takes five good pieces back. So the sum of
all job reports of a task is always its quantities, totals by day and shift stay right (the correction
counts on the corrected report's time and operator), and an ERP sync later sees only new, immutable
entries — as MES systems post a reversal rather than edit a confirmation.

The same rules as any report, under the same locks (the order's row, then its tasks): a correction
never makes the corrected report's quantities (with its earlier corrections) negative; more good or
scrap stays within what reached the operation × (1 + overrun tolerance); less good never leaves the
next operation with more good and scrap than the corrected good passed it; new scrap names a reason.
Only planners, supervisors and administrators correct; the corrected report must be readable by them.
Task and order statuses stay as they are (a correction changes quantities, not what happened).

:func:`apply_correction` is the rule (the record hook calls it for every new report of event
``correct``, whichever path created it); :func:`correct` is the entry point of the API and the CLI,
with the corrected report named by its code and the idempotency key (``client_id``) of :mod:`reports`.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.production import backflush as BF
from mom.engines.production import documents as D
from mom.engines.production import progress as P
from mom.engines.production import reports as R
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem

EVENT = "correct"
#: order statuses in which a report may still be corrected (a closed order is settled)
CORRECTABLE_ORDERS = ("released", "started", "finished")
_QTY_ZH = {"good_qty": "合格数", "scrap_qty": "报废数", "rework_qty": "返工数"}
#: the fields of a stored job report that may still change (a remark); everything else is the fact
EDITABLE = frozenset({"note"})


def _refuse_non_corrector(ctx: Ctx) -> None:
    actor = ctx.actor
    if actor.is_admin or actor.id is None or (R.CORRECTORS & actor.role_names):
        return
    raise AccessDenied("无权限：更正报工需要计划员或车间主任；数量有误请联系他们",
                       "no permission: a planner or supervisor corrects job reports; ask one of them",
                       problems=[Problem("/event", "无权限更正报工", "may not correct job reports", "forbidden")])


def _change(values: Mapping[str, Any], key: str, path: str) -> Decimal:
    try:
        return D.dec(values.get(key))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(f"{_QTY_ZH[key]}应为数字（可为负数，如 -5 表示少算 5 个）",
                           f"{key} must be a number (negative to take pieces back, e.g. -5)",
                           problems=[Problem(f"{path}/{key}", "应为数字", "must be a number", "type")]) from None


def effective(conn: Connection, forms: Any, original: Mapping[str, Any]) -> dict[str, Decimal]:
    """The quantities report ``original`` counts now: its own plus those of its corrections."""
    form = D.compiled(conn, forms, D.REPORT)
    out = {k: D.dec(original.get(k)) for k in R.QTY_KEYS}
    for c in D.rows(conn, form, form.main.c.corrects == int(original["id"])):
        for k in R.QTY_KEYS:
            out[k] += D.dec(c.get(k))
    return out


def apply_correction(conn: Connection, forms: Any, ctx: Ctx, values: dict[str, Any], *, path: str = "") -> None:
    """Check one new correction's ``values`` against the report it corrects, its task and order; fill
    its task, order, machine, operator and time from the corrected report; add the changes to the
    task and recompute the order. Raises, writing nothing of its own, when a rule refuses it."""
    try:
        _apply(conn, forms, ctx, values, path)
    finally:
        D.held(conn).clear()


def _apply(conn: Connection, forms: Any, ctx: Ctx, values: dict[str, Any], path: str) -> None:
    _refuse_non_corrector(ctx)
    report_form = D.compiled(conn, forms, D.REPORT)
    if values.get("corrects") in (None, ""):
        raise InvalidInput("更正报工要指定被更正的报工（报工单号）", "a correction names the job report it corrects (corrects)",
                           problems=[Problem(f"{path}/corrects", "必填", "required", "required")])
    original = D.row(conn, report_form, int(values["corrects"]))
    if original is None:
        raise InvalidInput("找不到被更正的报工", "the job report to correct does not exist",
                           problems=[Problem(f"{path}/corrects", "不存在", "not found", "not_found")])
    if original.get("event") == EVENT:
        first = D.row(conn, report_form, int(original["corrects"])) if original.get("corrects") else None
        zh_to = f"请更正原报工 {first['code']}" if first else "请更正原来的报工"
        raise InvalidInput(f"{original.get('code')} 本身是一次更正，不能再更正它：{zh_to}（填写改变的数量）",
                           f"{original.get('code')} is itself a correction: correct the original report "
                           f"{first['code'] if first else ''} instead",
                           problems=[Problem(f"{path}/corrects", "不能更正一次更正", "a correction cannot be corrected", "state")])
    if not str(values.get("reason") or "").strip():
        raise InvalidInput("请填写更正原因（例如：多报了 5 个、报废原因选错）", "give the reason for the correction",
                           problems=[Problem(f"{path}/reason", "必填", "required", "required")])
    task_id = int(original["task"])
    if values.get("task") not in (None, "") and int(values["task"]) != task_id:
        raise InvalidInput(f"更正的工序任务应与被更正的报工 {original.get('code')} 的工序任务相同",
                           f"a correction's task is that of the report it corrects ({original.get('code')})",
                           problems=[Problem(f"{path}/task", "与被更正的报工不同", "differs from the corrected report", "invalid")])
    changes = {k: _change(values, k, path) for k in R.QTY_KEYS}
    if all(v == 0 for v in changes.values()):
        raise InvalidInput("这次更正没有改变任何数量：请填写合格数、报废数或返工数的变化（如 -5 表示少算 5 个）",
                           "this correction changes nothing: give the change of good, scrap or rework (e.g. -5)",
                           problems=[Problem(f"{path}/good_qty", "没有改变数量", "nothing changed", "required")])
    order = D.order_of_task(conn, forms, task_id)        # the order first, then its tasks: the reports' lock order
    if order is None:
        raise InvalidInput("被更正报工的工序任务或生产工单已删除", "the corrected report's operation task or order was deleted")
    if order["status"] not in CORRECTABLE_ORDERS:
        raise Conflict(f"生产工单 {order['code']} 已{'关闭' if order['status'] == 'closed' else '取消'}，其报工不能再更正",
                       f"production order {order['code']} is {order['status']}: its job reports can no longer be corrected",
                       detail={"order_status": order["status"]})
    tasks = P.order_tasks(conn, forms, int(order["id"]), lock=True)
    index = next((i for i, t in enumerate(tasks) if int(t["id"]) == task_id), None)
    if index is None:
        raise InvalidInput("被更正报工的工序任务已删除", "the corrected report's operation task was deleted")
    task = tasks[index]
    _check(conn, forms, order, tasks, index, original, changes, values, path)
    BF.plan(conn, forms, order, tasks, index, changes["good_qty"] + changes["scrap_qty"], changes["good_qty"], path)
    values.update(task=task_id, production_order=int(order["id"]), event=EVENT,
                  machine=original.get("machine"), operator=original.get("operator"),
                  reported_at=original.get("reported_at") or ctx.now)
    if changes["scrap_qty"] != 0 and values.get("scrap_reason") in (None, ""):
        values["scrap_reason"] = original.get("scrap_reason")
    patch = {k: D.dec(task.get(k)) + changes[k] for k in R.QTY_KEYS}
    written = {int(r["id"]): r for r in D.write(conn, forms, ctx, D.TASK, [(task, patch)])}
    tasks = [written.get(int(t["id"]), t) for t in tasks]
    P.rollup(conn, forms, ctx, int(order["id"]), tasks=tasks)
    if R.APPLIED in conn.info:
        conn.info[R.APPLIED][task_id] = (written[task_id], D.held(conn).get((D.ORDER, int(order["id"]))))


def _check(conn: Connection, forms: Any, order: Mapping[str, Any], tasks: list[dict[str, Any]], index: int,
           original: Mapping[str, Any], changes: Mapping[str, Decimal], values: Mapping[str, Any], path: str) -> None:
    """The corrected report never below zero; the task within what reached it; the next task within
    what the corrected good passes it; new scrap with its reason."""
    q, unit, code = D.qty_text, order.get("unit") or "", original.get("code")
    now = effective(conn, forms, original)
    for k, change in changes.items():
        if now[k] + change < 0:
            raise InvalidInput(f"更正后报工 {code} 的{_QTY_ZH[k]}将为 {q(now[k] + change)}{unit}：它现在计 {q(now[k])}{unit}，"
                               f"最多只能减 {q(now[k])}{unit}",
                               f"the correction would leave report {code} with {k} {q(now[k] + change)}: it counts "
                               f"{q(now[k])} now, so at most {q(now[k])} can be taken back",
                               detail={"counts": q(now[k]), "change": q(change)},
                               problems=[Problem(f"{path}/{k}", f"最多只能减 {q(now[k])}", f"at most -{q(now[k])}", "minimum")])
    task = tasks[index]
    tolerance = R.overrun_percent()
    factor = 1 + tolerance / 100
    good, scrap = D.dec(task.get("good_qty")) + changes["good_qty"], D.dec(task.get("scrap_qty")) + changes["scrap_qty"]
    title = D.task_title(task)
    tol_zh = f"（允许超出 {q(tolerance)}%）" if tolerance else ""
    if changes["good_qty"] > 0 or changes["scrap_qty"] > 0:
        base = D.dec(order["qty"]) if index == 0 else D.dec(tasks[index - 1].get("good_qty"))
        if good + scrap > base * factor:
            basis = f"工单数量 {q(base)}{unit}" if index == 0 else \
                f"上道工序 {D.task_title(tasks[index - 1])} 的合格数 {q(base)}{unit}"
            room = max(base * factor - D.dec(task.get("good_qty")) - D.dec(task.get("scrap_qty")), D.ZERO)
            raise InvalidInput(f"更正后工序 {title} 的合格数加报废数为 {q(good + scrap)}{unit}，超过{basis}{tol_zh}："
                               f"最多还能加 {q(room)}{unit}；请核对数量",
                               f"after the correction operation {title} would count {q(good + scrap)} good and scrap, more "
                               f"than reached it ({q(base)}); at most {q(room)} more",
                               detail={"limit": q(base * factor), "after": q(good + scrap), "remaining": q(room)},
                               problems=[Problem(f"{path}/{'good_qty' if changes['good_qty'] > 0 else 'scrap_qty'}",
                                                 f"最多还能加 {q(room)}", f"at most {q(room)} more", "over_limit")])
    if changes["good_qty"] < 0 and index + 1 < len(tasks):
        nxt = tasks[index + 1]
        passed = D.dec(nxt.get("good_qty")) + D.dec(nxt.get("scrap_qty"))
        if passed > good * factor:
            raise Conflict(f"下道工序 {D.task_title(nxt)} 已报合格 {q(D.dec(nxt.get('good_qty')))}{unit}、报废 "
                           f"{q(D.dec(nxt.get('scrap_qty')))}{unit}，合计 {q(passed)}{unit}；更正后工序 {title} 的合格数只有 "
                           f"{q(good)}{unit}{tol_zh}，不够它用：请先更正下道工序的报工",
                           f"the next operation {D.task_title(nxt)} already counts {q(passed)} good and scrap; after the "
                           f"correction operation {title} would have passed only {q(good)}: correct the next operation first",
                           detail={"next_counts": q(passed), "good_after": q(good)},
                           problems=[Problem(f"{path}/good_qty", f"下道工序已用 {q(passed)}", f"the next operation used {q(passed)}",
                                             "over_limit")])
    if changes["scrap_qty"] > 0 and values.get("scrap_reason") in (None, "") and original.get("scrap_reason") is None:
        raise InvalidInput("更正增加了报废数量：请选择报废原因", "the correction adds scrap: pick a scrap reason",
                           problems=[Problem(f"{path}/scrap_reason", "有报废数量时请选择报废原因",
                                             "required when scrap is added", "required")])


# ---------------------------------------------------------------- the API's and CLI's entry point

def correct(conn: Connection, forms: Any, ctx: Ctx, doc: Any) -> dict[str, Any]:
    """A correction from the API or the CLI: ``doc`` names the report it corrects (``corrects``: its
    code JR-… or id), the changes (``good_qty``, ``scrap_qty``, ``rework_qty``: + adds, − takes back),
    ``reason``, optionally ``scrap_reason``, ``client_id``, ``note``. The same ``client_id`` again
    returns the first correction (``duplicate: true``). Returns ``{report, duplicate, task, order,
    corrected: {report, before, after}}``."""
    if not isinstance(doc, Mapping):
        raise InvalidInput("更正内容应为 JSON 对象", "a correction must be a JSON object")
    D.require_core(conn, forms)
    report_form = D.compiled(conn, forms, D.REPORT)
    form_access(report_form, ctx.actor).require("create")
    _refuse_non_corrector(ctx)
    original = D.resolve(conn, report_form, doc.get("corrects"), "/corrects")
    S.get_record(conn=conn, registry=forms, ctx=ctx, form=D.REPORT, record_id=int(original["id"]))  # 无权限 if unreadable
    body = {k: v for k, v in doc.items() if k not in ("task_code",)}
    body.update(event=EVENT, corrects=int(original["id"]), task=int(original["task"]))
    if isinstance(body.get("scrap_reason"), str) and body["scrap_reason"].strip():
        found = D.by_code(conn, D.compiled(conn, forms, "scrap_reason"), body["scrap_reason"].strip())
        if found is not None:
            body["scrap_reason"] = int(found["id"])
    task = D.row(conn, D.compiled(conn, forms, D.TASK), int(original["task"]))
    if task is None:
        raise InvalidInput("被更正报工的工序任务已删除", "the corrected report's operation task was deleted")
    order_id = int(task["production_order"])
    D.locked(conn, D.compiled(conn, forms, D.ORDER), order_id)       # a repeated client_id waits for the first
    D.held(conn)[("task_order", int(original["task"]))] = order_id
    before = effective(conn, forms, original)
    client_id = body.get("client_id")
    if isinstance(client_id, str) and client_id.strip():
        earlier = D.rows(conn, report_form, report_form.main.c.client_id == client_id.strip())
        if earlier:
            D.held(conn).clear()
            _same_as_earlier(earlier[0], body, client_id.strip())
            first = S.get_record(conn=conn, registry=forms, ctx=ctx, form=D.REPORT, record_id=int(earlier[0]["id"]))
            return _answer(conn, forms, first, original, duplicate=True)
    conn.info[R.APPLIED] = {}
    try:
        created = S.create_records(conn=conn, registry=D.TxForms(forms), ctx=ctx, form=D.REPORT, docs=[body])[0]
        return _answer(conn, forms, created, original, duplicate=False, before=before)
    finally:
        conn.info.pop(R.APPLIED, None)


def _same_as_earlier(earlier: Mapping[str, Any], body: Mapping[str, Any], client_id: str) -> None:
    """A repeated ``client_id`` is this correction sent again, or a mistake said in words (409)."""
    same = earlier.get("event") == EVENT and earlier.get("corrects") == body.get("corrects")
    if same:
        try:
            same = all(D.dec(earlier.get(k)) == D.dec(body.get(k)) for k in R.QTY_KEYS)
        except (InvalidOperation, ValueError, TypeError):
            same = False
    if not same:
        raise Conflict(f"防重号 {client_id} 已用于报工 {earlier.get('code')}，但这次内容不同：如果是新的更正，请换一个新的防重号",
                       f"client_id {client_id} was already used by job report {earlier.get('code')} with other values: "
                       "send a new client_id for a new correction", detail={"report": earlier.get("code")})


def _answer(conn: Connection, forms: Any, doc: dict[str, Any], original: Mapping[str, Any], *, duplicate: bool,
            before: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
    task_id = int(original["task"])
    task_form, order_form = D.compiled(conn, forms, D.TASK), D.compiled(conn, forms, D.ORDER)
    task, order = (conn.info.get(R.APPLIED) or {}).pop(task_id, (None, None)) if not duplicate else (None, None)
    task = task or D.row(conn, task_form, task_id) or {}
    order = order or D.row(conn, order_form, int(task["production_order"])) or {}
    keys = ("status", "good_qty", "scrap_qty", "progress", "current_operation", "expected_finish", "on_time")
    order_view = {"id": order.get("id"), "code": order.get("code"),
                  **{k: fieldtypes.dump(order_form.definition.field(k), order.get(k)) for k in keys}}
    after = effective(conn, forms, original)
    if before is None:
        before = {k: after[k] - D.dec(doc.get(k)) for k in R.QTY_KEYS}
    return {"report": doc, "duplicate": duplicate, "task": P.task_view(conn, forms, task_form, task), "order": order_view,
            "corrected": {"report": original.get("code"), "before": {k: P.number(v) for k, v in before.items()},
                          "after": {k: P.number(v) for k, v in after.items()}}}


def refuse_edit(compiled: Any, old: Mapping[str, Any], new: Mapping[str, Any], patched: set[str]) -> None:
    """A stored job report is not edited (its remark aside): say how to correct it instead."""
    changed = sorted(k for k in patched if k not in EDITABLE and k != "row_version" and old.get(k) != new.get(k))
    if changed:
        raise Conflict(f"报工 {old.get('code')} 是已发生的事实，不能修改：数量有误请做一次更正报工（生产报工 → 更正，"
                       "填写改变的数量和原因），原报工和更正都会保留",
                       f"job report {old.get('code')} is a fact and is not edited: post a correction (event correct, "
                       "the change of each quantity and the reason); the report and its correction both stay",
                       detail={"fields": changed})


def refuse_delete(row: Mapping[str, Any]) -> None:
    """A stored job report is not deleted: a correction to zero takes its quantities back."""
    raise Conflict(f"报工 {row.get('code')} 是已发生的事实，不能删除：如要撤销它的数量，请做一次更正报工，"
                   "把各数量减回 0 并写明原因",
                   f"job report {row.get('code')} is a fact and is not deleted: to take its quantities back, post a "
                   "correction that takes each quantity back to 0, with the reason")
