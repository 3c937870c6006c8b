"""Concurrency: auto-numbers never repeat; parallel updates of one record give one winner."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from mom.engines.forms import store
from mom.engines.forms.store import FormRegistry
from mom.engines.records import service as S
from mom.engines.records.context import SYSTEM, Ctx
from mom.platform.db.engine import write_tx
from mom.platform.errors import Conflict

FORM = {"format": "mom.form/1", "name": "ticket", "fields": [
    {"id": "a", "key": "no", "type": "autonumber", "pattern": "T{yyMMdd}{seq:5}"},
    {"id": "b", "key": "qty", "type": "integer"}]}


def ctx() -> Ctx:
    return Ctx(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc))


def test_twenty_concurrent_creates_get_twenty_numbers(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        store.publish(conn, FORM)
    reg = FormRegistry()

    def create(i: int) -> str:
        with write_tx(engine) as conn:
            return S.create_records(conn=conn, registry=reg, ctx=ctx(), form="ticket", docs=[{"qty": i}])[0]["no"]

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(create, range(20)))
    assert len(set(numbers)) == 20
    assert sorted(int(n[-5:]) for n in numbers) == list(range(1, 21))


def test_parallel_updates_of_one_record_have_one_winner(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        store.publish(conn, FORM)
    reg = FormRegistry()
    with write_tx(engine) as conn:
        rid = S.create_records(conn=conn, registry=reg, ctx=ctx(), form="ticket", docs=[{"qty": 0}])[0]["id"]

    def update(i: int) -> str:
        try:
            with write_tx(engine) as conn:
                S.update_record(conn=conn, registry=reg, ctx=ctx(), form="ticket", record_id=rid, patch={"qty": i}, expected_version=1)
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(update, range(1, 7)))
    assert results.count("ok") == 1 and results.count("conflict") == 5
    with write_tx(engine) as conn:
        rec = S.get_record(conn=conn, registry=reg, ctx=ctx(), form="ticket", record_id=rid)
    assert rec["row_version"] == 2 and rec["qty"] == results.index("ok") + 1
