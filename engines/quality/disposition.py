"""Executing an NCR's dispositions (执行处置, issue 22): the quality pack's ``nonconformance`` moved from
处置已批准 approved to 已处置 dispositioned posts, line by line and in the caller's ONE transaction:

- 报废 ``scrap``: a 调拨 ``stock_transfer`` of the line's qty (the NCR's item and lot) from the NCR's
  location to the plant's first active 废品 (scrap-kind) location;
- 退供应商 ``return_to_supplier``: a posted 退供应商出库 ``supplier_return`` taking the qty out of stock
  to the NCR's supplier (or the lot's); blocked and quarantined lots may go back;
- 让步接收 ``use_as_is``: the lot 放行 released; whatever else of the NCR stays in the lot (rework,
  quantity not yet dispositioned) is first split (批次拆分 ``lot_split``) into a new lot that keeps the
  blocked status, so releasing the lot releases only what was accepted;
- 返工 ``rework``: for an NCR raised in production (``operation_task``) the rework qty is reported on the
  task (a job report; a finished task gets a correction moving good to rework); for stock (a purchased
  lot) rework is sorting: the qty stays blocked and a new inspection lot re-inspects it.

Every posting goes through the inventory and production engines as the engine acting for the user;
each line names what it posted (``posted_document``); documents carry ``client_id`` ``NCR<id>-<line>``,
so running it again posts nothing twice. Anything refused refuses the whole execution.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory import posting as P
from mom.engines.quality import inspection as I
from mom.engines.quality import quarantine as Q
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, MomError, NotFound, Problem

NCR, CAPA, RETURN, PACK = "nonconformance", "capa", "supplier_return", "quality"
KINDS_ZH = {"use_as_is": "让步接收", "rework": "返工", "scrap": "报废", "return_to_supplier": "退供应商"}
#: ``conn.info`` key: set while this engine writes an NCR (its own hooks let those writes pass)
FLAG = "mom_quality_disposition"
_NEEDS = {NCR: ("status", "item", "lot", "location", "qty", "dispositions", "supplier", "operation_task"),
          CAPA: ("status", "effectiveness", "due_date", "nonconformance")}


def owned(conn: Connection, compiled: CompiledForm) -> bool:
    """Is ``compiled`` the quality pack's NCR or CAPA form (by name, owning pack and the fields bound to)?"""
    needs = _NEEDS.get(compiled.name)
    return needs is not None and I.quality_pack_owns(conn, compiled, needs)


def _line_zh(i: int, ln: dict[str, Any]) -> str:
    return f"第 {i + 1} 行「{KINDS_ZH.get(str(ln.get('disposition')), ln.get('disposition'))}」"


def check_quantities(ncr: dict[str, Any], lines: list[dict[str, Any]]) -> Decimal:
    """Refuse an NCR without dispositions, or whose lines together exceed its quantity (naming the
    line where the total goes over); returns the total."""
    if not lines:
        raise InvalidInput(f"不合格品处理单 {ncr.get('code')} 还没有填写处置：请在「处置」里填写处置方式和数量",
                           f"NCR {ncr.get('code')} has no dispositions: add the disposition lines and their quantities",
                           problems=[Problem("/dispositions", "请填写处置", "add the dispositions", "required")])
    limit, total = D.dec(ncr.get("qty")), D.ZERO
    for i, ln in enumerate(lines):
        q = D.dec(ln.get("qty"))
        if q <= 0:
            raise InvalidInput(f"{_line_zh(i, ln)}的数量须大于 0", f"disposition line {i + 1}: the quantity must be greater than 0",
                               problems=[Problem(f"/dispositions/{i}/qty", "须大于 0", "must be greater than 0", "range")])
        total += q
        if total > limit:
            raise InvalidInput(f"{_line_zh(i, ln)} {D.qty_text(q)}：处置合计 {D.qty_text(total)} 超过不合格数量 "
                               f"{D.qty_text(limit)}；请减少这一行或前面各行的数量",
                               f"disposition line {i + 1} ({ln.get('disposition')} {D.qty_text(q)}): the lines add up to "
                               f"{D.qty_text(total)}, more than the NCR quantity {D.qty_text(limit)}; reduce them",
                               problems=[Problem(f"/dispositions/{i}/qty", f"合计 {D.qty_text(total)} 超过 {D.qty_text(limit)}",
                                                 f"total {D.qty_text(total)} is over {D.qty_text(limit)}", "over_quantity")])
    return total


def scrap_location(conn: Connection, forms: Any) -> dict[str, Any]:
    """The plant's first active scrap-kind location, else refused saying what to set up."""
    t = D.get(conn, forms, D.LOCATION).main
    q = sa.select(t).where(t.c.kind == "scrap", t.c.deleted_at.is_(None), sa.or_(t.c.active.is_(None), t.c.active.is_(True)))
    found = conn.execute(q.order_by(t.c.id).limit(1)).mappings().first()
    if found is None:
        raise Conflict("没有启用的废品库位，报废无处可放：请仓管员在「库位」里新建一个类型为「废品」的库位后再执行处置",
                       "there is no active scrap location to scrap into: a storekeeper adds a location of kind 'scrap' "
                       "(库位类型 废品) first, then execute again", detail={"missing": "scrap_location"})
    return dict(found)


class Execution:
    """One NCR's dispositions being carried out (``ctx``: the user who executes; the engine acts for them)."""

    def __init__(self, conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, ncr_id: int) -> None:
        self.conn, self.forms, self.ctx, self.compiled = conn, D.tx_forms(forms), ctx, compiled
        self.engine_ctx = D.acting(ctx)
        self.ncr = D.row(conn, compiled, ncr_id, lock=True) or {}
        self.lines = S.load_children(conn, compiled, [ncr_id], ["dispositions"])[ncr_id]["dispositions"]
        self.item = D.row(conn, self.forms.get(conn, D.ITEM), int(self.ncr["item"])) if self.ncr.get("item") else None
        self.lot = D.row(conn, D.get(conn, self.forms, D.LOT), int(self.ncr["lot"]), lock=True) if self.ncr.get("lot") else None
        self.location = (D.row(conn, D.get(conn, self.forms, D.LOCATION), int(self.ncr["location"]))
                         if self.ncr.get("location") else None)

    # ------------------------------------------------------------ entry
    def run(self) -> list[dict[str, Any]]:
        """Post every line not posted yet; write ``posted_document`` per line and who/when on the NCR."""
        total = check_quantities(self.ncr, self.lines)
        if self.item is None:
            raise InvalidInput("请先选择不合格品的物料", "choose the NCR's item first",
                               problems=[Problem("/item", "请选择物料", "choose the item", "required")])
        kinds = [ln.get("disposition") for ln in self.lines]
        if "use_as_is" in kinds and self.lot is not None and total < D.dec(self.ncr.get("qty")):
            left = D.dec(self.ncr.get("qty")) - total
            raise InvalidInput(f"还有 {D.qty_text(left)} 没有处置：有「让步接收」时整批会放行，请把剩下的数量也填上处置（如返工挑选）",
                               f"{D.qty_text(left)} is not dispositioned: use as is releases the lot, so give the rest a "
                               "disposition too (e.g. rework)", problems=[Problem("/dispositions", f"还有 {D.qty_text(left)} 未处置",
                                                                                  f"{D.qty_text(left)} left", "under_quantity")])
        done = [dict(ln) for ln in self.lines]
        order = sorted(range(len(done)), key=lambda i: ("scrap", "return_to_supplier", "rework", "use_as_is").index(
            str(done[i].get("disposition"))) if done[i].get("disposition") in KINDS_ZH else 9)
        for i in order:
            ln = done[i]
            if ln.get("posted_document"):
                continue                # carried out before: nothing twice
            step = getattr(self, f"_{ln.get('disposition')}", None)
            if step is None:
                raise InvalidInput(f"第 {i + 1} 行的处置方式不认识", f"disposition line {i + 1}: unknown disposition",
                                   problems=[Problem(f"/dispositions/{i}/disposition", "请选择处置方式", "choose one", "enum")])
            try:
                ln["posted_document"] = str(step(i, ln, kinds) or "")[:100]
            except MomError as exc:         # say which disposition line the stock engine refused
                if not exc.zh.startswith(_line_zh(i, ln)):
                    exc.zh, exc.en = f"{_line_zh(i, ln)}：{exc.zh}", f"disposition line {i + 1}: {exc.en}"
                    exc.problems = [Problem(f"/dispositions/{i}/qty" if p.path.endswith("/qty") else f"/dispositions/{i}",
                                            p.zh, p.en, p.code) for p in exc.problems if p.path.startswith("/lines")] or \
                        [p for p in exc.problems if not p.path.startswith("/lines")]
                raise
        self._write_back(done)
        return done

    def _write_back(self, done: list[dict[str, Any]]) -> None:
        keys = [c.key for c in self.compiled.definition.field("dispositions").children]
        patch = {"dispositions": [{"id": ln.get("id"), **{k: ln.get(k) for k in keys}} for ln in done],
                 "executed_at": self.ctx.now, "executed_by": self.ctx.actor.id}
        self.conn.info[FLAG] = self.conn.info.get(FLAG, 0) + 1
        try:
            update_many(conn=self.conn, registry=self.forms, ctx=self.engine_ctx, form=self.compiled.name,
                        patches=[(int(self.ncr["id"]), patch, None)])
        finally:
            self.conn.info[FLAG] -= 1

    # ------------------------------------------------------------ helpers
    def _need_location(self, i: int, ln: dict[str, Any]) -> dict[str, Any]:
        if self.location is None:
            raise InvalidInput(f"{_line_zh(i, ln)}要从库位出库：请先填写不合格品的「所在库位」",
                               f"disposition line {i + 1} takes stock out of a location: fill in the NCR's location first",
                               problems=[Problem("/location", "请填写所在库位", "fill in the location", "required")])
        return self.location

    def _client_id(self, ln: dict[str, Any], i: int) -> str:
        return f"NCR{int(self.ncr['id'])}-{ln.get('id') or i + 1}"

    def _post(self, form: str, header: dict[str, Any], ln: dict[str, Any], i: int) -> str:
        body = {**header, "client_id": self._client_id(ln, i)}
        done = P.create_and_post(self.conn, self.forms, self.engine_ctx, form, body)
        return str(done.get("code") or "")

    def _stock_line(self, ln: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"item": int(self.item["id"]), "qty": D.dec(ln.get("qty")), "lot": int(self.lot["id"]) if self.lot else None,  # type: ignore[index]
                "note": f"{self.ncr.get('code')} {KINDS_ZH[str(ln.get('disposition'))]}"[:200], **extra}

    def _note(self, ln: dict[str, Any]) -> str:
        return f"不合格品处置 {self.ncr.get('code')} {KINDS_ZH[str(ln.get('disposition'))]}"[:200]

    # ------------------------------------------------------------ the four dispositions
    def _scrap(self, i: int, ln: dict[str, Any], kinds: list[Any]) -> str:
        frm = self._need_location(i, ln)
        to = scrap_location(self.conn, self.forms)
        if int(to["id"]) == int(frm["id"]):
            return f"已在废品库位 {D.name_of(to)}"
        line = self._stock_line(ln, from_location=int(frm["id"]), to_location=int(to["id"]))
        return self._post("stock_transfer", {"note": self._note(ln), "lines": [line]}, ln, i)

    def _return_to_supplier(self, i: int, ln: dict[str, Any], kinds: list[Any]) -> str:
        frm = self._need_location(i, ln)
        supplier = self.ncr.get("supplier") or (self.lot or {}).get("supplier")     # a vendor id
        if supplier is None:
            raise InvalidInput(f"{_line_zh(i, ln)}要退给供应商：请先填写不合格品处理单的「供应商」",
                               f"disposition line {i + 1} returns to the supplier: fill in the NCR's supplier first",
                               problems=[Problem("/supplier", "请从供应商档案中选择供应商", "pick the supplier from the vendor list", "required")])
        line = self._stock_line(ln, from_location=int(frm["id"]))
        header = {"supplier": int(supplier), "nonconformance": int(self.ncr["id"]), "note": self._note(ln), "lines": [line]}
        return self._post(RETURN, header, ln, i)

    def _use_as_is(self, i: int, ln: dict[str, Any], kinds: list[Any]) -> str:
        if self.lot is None:
            return "让步接收（无批次，不涉及库存状态）"
        note = ""
        if self._rework_total() > 0:
            self._blocked_part(i, ln)
            note = f"；返工部分在新批次（{self.split_code}）"
        lots = D.get(self.conn, self.forms, D.LOT)
        if self.lot.get("status") != "released":
            with D.engine_writes(self.conn):
                update_many(conn=self.conn, registry=self.forms, ctx=self.engine_ctx, form=lots.name,
                            patches=[(int(self.lot["id"]), {"status": "released"}, None)])
            self.lot["status"] = "released"
        return f"批次 {self.lot.get('number')} 放行" + note + self._out_of_quarantine(i, ln)

    def _out_of_quarantine(self, i: int, ln: dict[str, Any]) -> str:
        """The accepted quantity still lying in the NCR's quarantine location: a draft transfer out (once)."""
        if self.location is None or self.location.get("kind") != Q.QUARANTINE:
            return ""
        piece = Q.Piece(int(self.item["id"]), int(self.lot["id"]), D.dec(ln.get("qty")), int(self.location["id"]))  # type: ignore[index]
        got = Q.release(self.conn, self.forms, self.ctx, [piece], client_id=f"{self._client_id(ln, i)}-move",
                        note="不合格品让步接收放行：从待检区调出",
                        why_zh=f"不合格品处理单 {self.ncr.get('code')} 让步接收 {D.qty_text(ln.get('qty'))}")
        if got.code:
            return f"；待检区调拨单 {got.code}（草稿，待仓管员过账）"
        return "；仓库没有「正常」库位，未生成调拨单：请仓管员新建后手工调出待检区" if got.note_zh else ""

    def _rework_total(self) -> Decimal:
        return sum((D.dec(x.get("qty")) for x in self.lines if x.get("disposition") == "rework"), D.ZERO)

    def _blocked_part(self, i: int, ln: dict[str, Any]) -> int:
        """The rework qty split off (once) into a new lot that keeps the blocked status, before the lot is
        released: its id."""
        if getattr(self, "rework_lot", None):
            return int(self.rework_lot)
        loc = self._need_location(i, ln)
        header = {"item": int(self.item["id"]), "location": int(loc["id"]), "source_lot": int(self.lot["id"]),  # type: ignore[index]
                  "note": f"不合格品处置 {self.ncr.get('code')}：返工部分留冻结"[:200], "lines": [{"qty": self._rework_total()}],
                  "client_id": f"NCR{int(self.ncr['id'])}-split"}
        done = P.create_and_post(self.conn, self.forms, self.engine_ctx, "lot_split", header)
        moves = [m for m in done.get("moves") or [] if D.dec(m.get("qty")) > 0]
        self.rework_lot, self.split_code = int(moves[0]["lot"]), str(done.get("code") or "")
        return self.rework_lot

    def _rework(self, i: int, ln: dict[str, Any], kinds: list[Any]) -> str:
        if self.ncr.get("operation_task"):
            return self._rework_in_production(ln)
        lot_id = int(self.lot["id"]) if self.lot else None
        if "use_as_is" in kinds and lot_id is not None:
            lot_id = self._blocked_part(i, ln)
        return self._reinspect(ln, lot_id)

    def _reinspect(self, ln: dict[str, Any], lot_id: int | None) -> str:
        """Sorting of stock: the rework qty's lot goes to 待检 quarantine (still not usable) and a new inspection
        lot of the NCR's plan re-inspects it (judged accepted, the inspection engine releases it)."""
        plan = self._plan_of_source()
        if plan is None:
            return "返工挑选：数量保持冻结，挑选后请开检验单复检"
        if lot_id is not None:
            with D.engine_writes(self.conn):
                update_many(conn=self.conn, registry=self.forms, ctx=self.engine_ctx, form=D.LOT,
                            patches=[(int(lot_id), {"status": "quarantine"}, None)])
        got = I.open_lot(self.conn, self.forms, self.engine_ctx, plan=plan, item=int(self.item["id"]),  # type: ignore[index]
                       lot=lot_id, qty=D.dec(ln.get("qty")), supplier=self.ncr.get("supplier"), sources={},
                       note=f"不合格品 {self.ncr.get('code')} 返工挑选后复检", resubmitted=True)
        return f"返工挑选后复检 {got.get('code')}"

    def _plan_of_source(self) -> int | None:
        lot_id = self.ncr.get("inspection_lot")
        if lot_id is None:
            return None
        try:
            lots = self.forms.get(self.conn, "inspection_lot")
        except NotFound:
            return None
        found = D.row(self.conn, lots, int(lot_id))
        return int(found["plan"]) if found and found.get("plan") else None

    def _rework_in_production(self, ln: dict[str, Any]) -> str:
        """Rework qty reported on the NCR's operation task (as the production engine allows): a job report
        of the rework qty; a finished task: a correction of its last report moving good pieces to rework."""
        task_id = int(self.ncr["operation_task"])
        task = D.row(self.conn, self.forms.get(self.conn, "operation_task"), task_id) or {}
        qty = D.dec(ln.get("qty"))
        note = f"不合格品 {self.ncr.get('code')} 返工"[:200]
        if task.get("status") != "done":
            body = {"task": task_id, "event": "report", "rework_qty": qty, "note": note}
        else:
            reports = self.forms.get(self.conn, "job_report")
            t = reports.main
            last = self.conn.execute(sa.select(t.c.id).where(t.c.task == task_id, t.c.deleted_at.is_(None),
                                                             t.c.event != "correct", t.c.good_qty >= qty)
                                     .order_by(t.c.id.desc()).limit(1)).scalar()
            if last is None:
                raise Conflict(f"工序任务 {task.get('code') or task_id} 已完工，且没有一次报工的合格数够 {D.qty_text(qty)}：请车间主任更正报工后再执行",
                               f"operation task {task_id} is done and no report of it has {D.qty_text(qty)} good: a supervisor "
                               "corrects the reports first")
            body = {"task": task_id, "event": "correct", "corrects": int(last), "good_qty": -qty, "rework_qty": qty,
                    "reason": note}
        made = S.create_records(conn=self.conn, registry=self.forms, ctx=self.engine_ctx, form="job_report", docs=[body])[0]
        return str(made.get("code") or "")


def execute(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, ncr_id: int) -> list[dict[str, Any]]:
    """Carry out NCR ``ncr_id``'s dispositions (see the module); returns its lines with ``posted_document``."""
    return Execution(conn, forms, ctx, compiled, ncr_id).run()
