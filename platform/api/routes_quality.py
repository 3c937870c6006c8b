"""Quality (issue 22): the GB/T 2828.1 (ISO 2859-1) single-sampling plan for a lot — code letter,
sample size, Ac/Re, arrows followed, 100 % — with notes in Chinese and English. Any signed-in user;
nothing is read or written (see docs/quality.md)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mom.engines.quality import sampling
from mom.platform.api.deps import ActorDep
from mom.platform.api.models import ERRORS, Open

router = APIRouter(prefix="/api/quality", tags=["quality"], responses=ERRORS)
LotSize = Annotated[int, Query(description="批量（件）/ lot size, 2 or more")]
Aql = Annotated[str, Query(min_length=1, max_length=16, description="接收质量限 AQL，优先系列之一，如 1.0 / acceptance quality limit, e.g. 1.0")]
Level = Annotated[str, Query(max_length=8, description="检验水平 S-1 … S-4、I、II、III / inspection level")]
Severity = Annotated[str, Query(max_length=16, description="normal（正常）| tightened（加严）| reduced（放宽）")]


class SamplingPlanRead(Open):
    """A single-sampling plan: ``code_letter``/``sample_size`` of the row the arrows led to
    (``resolved_from`` the arrow path, or null); ``hundred_percent``: inspect the whole lot."""

    lot_size: int
    aql: str
    level: str
    severity: str
    table: str
    initial_letter: str
    code_letter: str
    sample_size: int
    ac: int
    re: int
    hundred_percent: bool
    resolved_from: str | None
    note_zh: str
    note_en: str


@router.get("/sampling-plan", response_model=SamplingPlanRead,
            summary="GB/T 2828.1 sampling plan for a lot: code letter, sample size, Ac/Re (抽样方案)")
def sampling_plan(actor: ActorDep, lot_size: LotSize, aql: Aql, level: Level = "II",
                  severity: Severity = "normal") -> SamplingPlanRead:
    """Bad values answer 422 naming the parameter and the allowed values."""
    return SamplingPlanRead(**sampling.plan(lot_size, aql, level, severity).to_dict())
