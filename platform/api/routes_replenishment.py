"""Line-side replenishment (线边补料, issue 21): the board (补料看板) and the check of every rule.

``GET /api/inventory/replenishment``: per 补料规则 the item, line side, usable stock, reorder point and
top, the open request (a draft 调拨 with the lots FEFO/FIFO would take) and a colour (red / yellow /
green), within the reader's rights. ``POST /api/inventory/replenishment/run`` (``?dry_run=true``: only
say): a draft transfer for each rule below its reorder point with none open. A request is posted
like any stock document: ``POST /api/inventory/documents/stock_transfer/{id}/post``."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mom.engines.inventory import listing
from mom.engines.inventory import replenishment as RP
from mom.engines.inventory import replenishment_board as RB
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.db.engine import read_tx, write_tx

router = APIRouter(prefix="/api/inventory", tags=["inventory"], responses=ERRORS)


@router.get("/replenishment", summary="补料看板: per replenishment rule the usable stock at the line side, the open request "
                                      "and a status (red: short, yellow: request open, green: fine)")
def replenishment_board(engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return RB.board(conn, registry, ctx)


@router.post("/replenishment/run", summary="Check every replenishment rule: a draft transfer for each one below its reorder "
                                           "point with no request open (dry_run: only say which)")
def replenishment_run(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                      dry_run: Annotated[bool, Query(description="只检查不生成 / only say what would be asked")] = False
                      ) -> dict[str, Any]:
    with (read_tx(engine) if dry_run else write_tx(engine)) as conn:
        out = RP.sweep(conn, registry, ctx, dry_run=dry_run)
    return {**out, "requests": [{**r, "on_hand": listing.number(r["on_hand"]), "qty": listing.number(r["qty"])}
                                for r in out["requests"]]}
