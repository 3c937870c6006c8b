"""Baseline for the create benchmark: a hand-written FastAPI + SQLAlchemy Core endpoint for the same
6-field table with the same validation (types, required, lengths, range, options), as a developer
would write it without the platform.

It is served behind the same generic HTTP middlewares any endpoint on a plant's server needs and the
platform's endpoints pay too: the security headers (CSP, X-Frame-Options, nosniff, …) and the request
body size limit, both plain ASGI. What the platform adds beyond that is its own cost and stays on its
side: the input guard (NUL, lone surrogates, JSON depth), the token lookup on every request (revocation
at once), scopes, permissions, audit, reference and file checks."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel, Field

from mom.platform.api.app import BodyLimit
from mom.platform.api.headers import SecurityHeaders
from mom.platform.db.engine import make_engine, write_tx
from mom.platform.settings import Settings

engine = make_engine(os.environ["BASELINE_DB"])
md = sa.MetaData()
table = sa.Table("baseline_inspection", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("lot_no", sa.String(40), nullable=False), sa.Column("qty", sa.Numeric(12, 3)),
                 sa.Column("result", sa.String(64)), sa.Column("inspected_on", sa.Date),
                 sa.Column("remarks", sa.Text), sa.Column("passed", sa.Boolean),
                 sa.Column("created_at", sa.DateTime(timezone=True)))
md.create_all(engine)
app = FastAPI()
app.add_middleware(BodyLimit, limit=Settings().max_request_bytes)
app.add_middleware(SecurityHeaders)


class InspectionCreate(BaseModel):
    lot_no: str = Field(max_length=40)
    qty: Decimal = Field(ge=0, max_digits=12, decimal_places=3)
    result: Literal["pass", "fail", "concession"] | None = None
    inspected_on: dt.date | None = None
    remarks: str | None = None
    passed: bool | None = None


@app.post("/baseline", status_code=201)
def create(body: InspectionCreate) -> dict:
    with write_tx(engine) as conn:
        rid = conn.execute(table.insert().values(**body.model_dump(), created_at=dt.datetime.now(dt.timezone.utc))
                           .returning(table.c.id)).scalar_one()
    return {"id": rid, **body.model_dump(mode="json")}
