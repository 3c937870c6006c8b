"""Inspection entry (检验录入, issue 22): the inspector's list of inspection lots, one lot as a sample grid,
saving its readings and judging it. The engine is ``mom.engines.quality.entry``; every read and write
goes through the record service on the quality pack's ``inspection_lot`` (its permissions, row scope,
state machine and row_version), and the pack's hooks decide the result on judge (docs/quality.md,
「检验录入（手机）」)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from mom.engines.quality import entry
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS, Open
from mom.platform.api.params import OptText, PathId, json_object
from mom.platform.db.engine import read_tx, write_tx

router = APIRouter(prefix="/api/quality", tags=["quality"], responses=ERRORS)
Status = Annotated[str | None, Query(max_length=60, description="pending（待检）| inspecting（检验中）| judged（已判定）| cancelled；"
                                                                "逗号分隔；默认待检和检验中 / comma-separated; default pending,inspecting")]
Kind = Annotated[str | None, Query(max_length=80, description="iqc | ipqc_first | ipqc_patrol | ipqc_last | oqc，逗号分隔 / comma-separated")]
Limit = Annotated[int, Query(ge=1, le=entry.MAX_LIST, description="最多条数 / at most this many")]


class InspectionCardRead(Open):
    """An inspection lot as a card: code, status and type (with labels), item/lot texts, supplier, sample
    size, due time (``overdue`` when past and still open), result once judged."""

    id: int
    code: str | None
    status: str | None
    inspection_type: str | None
    item: str | None
    lot: str | None
    supplier: str | None
    sample_size: int | None
    due_at: str | None
    overdue: bool
    result: str | None


class InspectionListRead(Open):
    """Inspection lots the caller may read; ``more``: there are more than ``limit``."""

    items: list[InspectionCardRead]
    more: bool


class InspectionGridRead(InspectionCardRead):
    """One lot for entry: ``characteristics`` (the grid's columns, with LSL/USL, unit, defect class),
    ``samples`` (rows: ``sample_no`` and one cell per characteristic: value, ok, defect_code), ``classes``
    (per defect class Ac/Re, the nonconforming samples so far, rejected), ``missing`` (readings still
    to enter), ``may`` (enter/judge), and once judged the result, ``switching_note`` and ``ncr``."""

    row_version: int | None
    characteristics: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    classes: list[dict[str, Any]]
    missing: int
    may: dict[str, bool]
    switching_note: str | None
    ncr: dict[str, Any] | None
    release: dict[str, Any] | None = None   # 放行调拨单: {transfer (a link, to readers of transfers only), note}


@router.get("/inspections", response_model=InspectionListRead,
            summary="Inspection lots I may read (检验任务): open ones due soonest first by default; ?status=&type=&q=&limit=")
def list_inspections(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, status: Status = None, type: Kind = None,  # noqa: A002
                     q: OptText = None, limit: Limit = 50) -> Any:
    with read_tx(engine) as conn:
        return entry.listing(conn, registry, ctx, status=status, kind=type, q=q, limit=limit)


@router.get("/inspections/{lot_id}", response_model=InspectionGridRead,
            summary="One inspection lot as a sample grid: plan characteristics, readings, Ac/Re and defects per class")
def get_inspection(lot_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    with read_tx(engine) as conn:
        return entry.grid(conn, registry, ctx, lot_id)


@router.put("/inspections/{lot_id}/results", response_model=InspectionGridRead,
            summary="Save readings: body {row_version?, cells: [{sample_no, char_seq, value | ok, defect_code?, note?}]} "
                    "(at most 2000; an empty cell removes its reading); a pending lot starts (检验中)")
def save_results(lot_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                 body: Annotated[Any, Body()] = None) -> Any:
    with write_tx(engine) as conn:
        return entry.save(conn, registry, ctx, lot_id, json_object(body))


@router.post("/inspections/{lot_id}/judge", response_model=InspectionGridRead,
             summary="Judge the lot (判定): refused while a reading is missing; answers result, defects per class, "
                     "the switching event and the NCR opened on rejection")
def judge_inspection(lot_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                     body: Annotated[Any, Body()] = None) -> Any:
    with write_tx(engine) as conn:
        return entry.judge(conn, registry, ctx, lot_id, json_object(body))
