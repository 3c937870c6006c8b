"""Traceability (issue 21): forward and backward traces of a lot or serial and the recall simulation by
heat number, as JSON or a workbook (``?format=xlsx``). The answer shape is in docs/traceability.md; every
answer follows the reader's rights (records they may not read are counted as hidden, never named)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from mom.engines.trace import service, walk, workbook
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS, Open
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput

router = APIRouter(prefix="/api/trace", tags=["trace"], responses=ERRORS)
Lot = Annotated[str, Query(min_length=1, max_length=64, description="批号/序列号（或批次 id）/ lot or serial number, or its id")]
Item = Annotated[str | None, Query(max_length=100, description="物料编码或 id（同一批号属于多个物料时必填）/ item code or id")]
Depth = Annotated[int, Query(ge=1, le=walk.MAX_DEPTH, description="最多层数 / at most this many links deep")]
Format = Annotated[str, Query(max_length=8, description="json | xlsx")]
Heat = Annotated[str, Query(min_length=1, max_length=64, description="炉号 / heat number")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TraceLotRead(Open):
    """A lot reached (level: the fewest links from the start lot, which is level 0)."""

    id: int
    number: str | None
    item: int | None
    item_code: str | None
    item_name: str | None
    heat_number: str | None
    supplier_lot: str | None
    supplier: str | None
    unit: str | None = None
    level: int


class TraceLinkRead(Open):
    """A live genealogy edge walked: parent lot consumed into child lot (qty of the parent)."""

    id: int
    parent_lot: int
    child_lot: int
    qty: float | None
    unit: str | None = None
    relation: str
    relation_label: str
    production_order_code: str | None
    operator_name: str | None
    machine_name: str | None
    document_code: str | None
    linked_at: str | None
    level: int


class TraceShipmentRead(Open):
    """A customer's shipment (销售出库 ledger row) of a reached lot."""

    lot: int
    lot_number: str | None
    qty: float
    unit: str | None = None
    document_code: str | None
    customer: str | None


class TraceRead(Open):
    """A forward or backward trace (docs/traceability.md); ``hidden`` counts what the reader may not read. Forward
    by a heat number (no lot of that number): ``roots`` are all its lots, ``heat_number`` is set."""

    direction: str
    root: int
    roots: list[int] = []
    heat_number: str | None = None
    depth: int
    lots: list[TraceLotRead]
    links: list[TraceLinkRead]
    shipments: list[TraceShipmentRead]
    orders: list[dict[str, Any]]
    records: list[dict[str, Any]]
    hidden: dict[str, int]


class RecallRead(Open):
    """A recall simulation: the lots of the heat number, the lots they reach (``reached_lots``), where those lots'
    stock is now (``stock``: location, qty on hand, unit — what to hold), the shipments and customers."""

    heat_number: str
    lots: list[dict[str, Any]]
    reached: int
    reached_lots: list[TraceLotRead] = []
    stock: list[dict[str, Any]] = []
    shipments: list[TraceShipmentRead]
    customers: list[dict[str, Any]]
    hidden: dict[str, int]


def _doc(model: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _answer(answer: dict[str, Any], fmt: str, name: str) -> Any:
    if fmt == "json":
        return answer
    if fmt != "xlsx":
        raise InvalidInput("format 只能是 json 或 xlsx", "format must be json or xlsx", detail={"field": "format"})
    return Response(workbook.to_xlsx(answer), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="trace-{name}.xlsx"'})


@router.get("/forward", responses=_doc(TraceRead), summary="Forward trace: where this lot went, down to customers' shipments (?format=xlsx)")
def forward(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, lot: Lot, item: Item = None, depth: Depth = 10,
            format: Format = "json") -> Any:
    with read_tx(engine) as conn:
        return _answer(service.forward(conn, registry, ctx.actor, lot, item, depth), format, "forward")


@router.get("/backward", responses=_doc(TraceRead), summary="Backward trace: what went into this lot or serial, with operators, machines and records")
def backward(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, lot: Lot, item: Item = None, depth: Depth = 10,
             format: Format = "json") -> Any:
    with read_tx(engine) as conn:
        return _answer(service.backward(conn, registry, ctx.actor, lot, item, depth), format, "backward")


@router.get("/recall", responses=_doc(RecallRead), summary="Recall simulation: all shipments holding material of heat number X")
def recall(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, heat_number: Heat, depth: Depth = 10,
           format: Format = "json") -> Any:
    with read_tx(engine) as conn:
        return _answer(service.recall(conn, registry, ctx.actor, heat_number, depth), format, "recall")
