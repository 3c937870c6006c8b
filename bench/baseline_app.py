"""Baseline for the create benchmark: a hand-written FastAPI + SQLAlchemy Core endpoint for the same
6-field table with the same validation (types, required, lengths, range, options), as a developer
would write it without the platform."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel, Field

from mom.platform.db.engine import make_engine, write_tx

engine = make_engine(os.environ["BASELINE_DB"])
md = sa.MetaData()
table = sa.Table("baseline_inspection", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("lot_no", sa.String(40), nullable=False), sa.Column("qty", sa.Numeric(12, 3)),
                 sa.Column("result", sa.String(64)), sa.Column("inspected_on", sa.Date),
                 sa.Column("remarks", sa.Text), sa.Column("passed", sa.Boolean),
                 sa.Column("created_at", sa.DateTime(timezone=True)))
md.create_all(engine)
app = FastAPI()


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
