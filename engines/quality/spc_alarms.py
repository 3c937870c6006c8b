"""What an SPC rule violation on a newly judged inspection lot leaves behind: one ``spc_alarm`` record
(per plan × characteristic × inspection lot, never a second one on a retry), an in-app notification to
every active quality engineer (质量工程师) with a link to the chart, and, when the
characteristic says ``ncr_on_alarm``, a nonconformance report (NCR) opened through the record service.
All in the judge's transaction. The alarm is created through the record service, so an event rule on
``record.created`` of 判异报警 (``spc_alarm``) forwards it to DingTalk, WeCom or e-mail like any record.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.quality import spc_kinds
from mom.engines.quality.inspection import engine_writes  # the quality engine's own writes (its hooks refuse people writing alarms)
from mom.engines.quality.spc_series import ALARM, Characteristic, Subgroup
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.records.engine_writes import acting
from mom.platform.db import tables as T

NCR = "nonconformance"
ROLE = "quality_engineer"
CHART_ZH = {"xbar": "均值图", "r": "极差图", "s": "标准差图", "i": "单值图", "mr": "移动极差图", **spc_kinds.CHART_ZH}
CHART_EN = {"xbar": "X̄ chart", "r": "R chart", "s": "S chart", "i": "I chart", "mr": "MR chart", **spc_kinds.CHART_EN}


def rule_text(violations: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The violated rules in words, e.g. 「均值图：1 点超出控制限（3σ）」, Chinese and English."""
    zh, en = [], []
    for v in violations:
        z = f"{CHART_ZH.get(v['chart'], v['chart'])}：{v['message']['zh-CN']}"
        e = f"{CHART_EN.get(v['chart'], v['chart'])}: {v['message']['en']}"
        if z not in zh:
            zh.append(z)
            en.append(e)
    return "；".join(zh), "; ".join(en)


def of_characteristic(table: sa.Table, ch: Characteristic) -> Any:
    """The alarms of ``ch`` in ``table``: by its 序号 ``char_seq`` (quality 1.1.0); an alarm raised before
    that column (char_seq empty) by the characteristic's name."""
    by_name = table.c.characteristic == ch.name[:100]
    if "char_seq" not in table.c:
        return by_name
    return sa.or_(table.c.char_seq == ch.seq, sa.and_(table.c.char_seq.is_(None), by_name))


def existing(conn: Connection, alarm_form: Any, ch: Characteristic, lot_id: int) -> int | None:
    """The alarm already raised for this characteristic on this inspection lot (a retried judge)."""
    A = alarm_form.main
    return conn.execute(sa.select(A.c.id).where(
        A.c.inspection_plan == ch.plan_id, A.c.inspection_lot == lot_id, of_characteristic(A, ch),
        A.c.deleted_at.is_(None)).limit(1)).scalar()


def _engineers(conn: Connection) -> list[int]:
    q = (sa.select(T.user.c.id).join(T.user_role, T.user_role.c.user_id == T.user.c.id)
         .join(T.role, T.role.c.id == T.user_role.c.role_id)
         .where(T.role.c.name == ROLE, T.user.c.is_active.is_(True)).distinct())
    return sorted(int(i) for i in conn.execute(q).scalars())


def link(ch: Characteristic) -> str:
    """The SPC page of the characteristic (the UI's route)."""
    return f"/spc?plan={ch.plan_id}&char_seq={ch.seq}"


def _open_ncr_of(conn: Connection, ncr_form: Any, lot_id: int) -> int | None:
    """The NCR already open for these pieces (the IQC judge's, or another chart's alarm): one NCR per
    inspection lot, the alarm names it instead of opening a second for the same pieces."""
    t = ncr_form.main
    return conn.execute(sa.select(t.c.id).where(t.c.inspection_lot == lot_id, t.c.deleted_at.is_(None),
                                                t.c.status.in_(("open", "approved")))
                        .order_by(t.c.id).limit(1)).scalar()


def _ncr(conn: Connection, forms: Any, ctx: Ctx, ch: Characteristic, g: Subgroup, lot_qty: Any, zh: str) -> int | None:
    try:
        ncr_form = forms.get(conn, NCR)
    except Exception:       # noqa: BLE001 — the pack's NCR form is not installed: the alarm stands alone
        return None
    got = _open_ncr_of(conn, ncr_form, g.lot_id)
    if got is not None:
        return int(got)
    doc = {"title": f"判异报警：{ch.plan_name or ch.plan_code or ''} {ch.name}"[:200], "inspection_lot": g.lot_id,
           "item": g.item or ch.item_id, "lot": g.lot, "supplier": g.supplier,
           "qty": lot_qty if lot_qty is not None else len([v for v in g.values if v is not None]),
           "description": f"检验单 {g.label} 的「{ch.name}」{zh}。请确认过程是否失控并处置受影响的产品。"}
    made = S.create_records(conn=conn, registry=forms, ctx=acting(ctx), form=NCR,
                            docs=[{k: v for k, v in doc.items() if v is not None}])
    return int(made[0]["id"])


def _ncr_code(conn: Connection, forms: Any, ctx: Ctx, ncr: int) -> str:
    """The NCR's number (处理单号, e.g. NCR-20261203-0001) as the notice shows it; the id when it has none."""
    doc = S.get_record(conn=conn, registry=forms, ctx=acting(ctx), form=NCR, record_id=ncr)
    return str(doc.get("code") or ncr)


def raise_alarm(conn: Connection, forms: Any, ctx: Ctx, ch: Characteristic, g: Subgroup,
                violations: Sequence[Mapping[str, Any]], *, lot_qty: Any = None) -> dict[str, Any] | None:
    """Write the alarm for ``g`` (the newest subgroup), notify, and open an NCR if asked. None when this
    lot's alarm exists already (the judge ran again)."""
    alarm_form = forms.get(conn, ALARM)
    if existing(conn, alarm_form, ch, g.lot_id) is not None:
        return None
    zh, en = rule_text(violations)
    main = next((v for v in violations if v["chart"] in ("xbar", "i")), violations[0])
    with engine_writes(conn):
        ncr = _ncr(conn, forms, ctx, ch, g, lot_qty, zh) if ch.ncr_on_alarm else None
        doc = {"inspection_plan": ch.plan_id, "characteristic": ch.name[:100], "item": g.item or ch.item_id,
               "char_seq": ch.seq if alarm_form.definition.field("char_seq") is not None else None,
               "inspection_lot": g.lot_id, "rule": zh[:300], "subgroup": g.label[:100], "value": round(main["value"], 6),
               "raised_at": ctx.now, "ncr": ncr}
        made = S.create_records(conn=conn, registry=forms, ctx=acting(ctx), form=ALARM,
                                docs=[{k: v for k, v in doc.items() if v is not None}])
    alarm_id = int(made[0]["id"])
    title = f"判异报警：{ch.plan_name or ch.plan_code or ''}「{ch.name}」检验单 {g.label}"
    body = f"{zh}\n{en}" + (f"\n已开不合格品处理单 / NCR opened: {_ncr_code(conn, forms, ctx, ncr)}" if ncr else "")
    users = _engineers(conn)
    if users:
        conn.execute(T.notification.insert(), [{"user_id": u, "kind": "spc_alarm", "title": title[:500], "body": body,
                                                "link": link(ch), "created_at": ctx.now} for u in users])
    return {"id": alarm_id, "rule": {"zh-CN": zh, "en": en}, "ncr": ncr, "notified": users}
