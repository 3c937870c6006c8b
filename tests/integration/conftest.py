"""The integration tests' own check (issue 21 item 7): after each test that used a database, the stock
ledger and the balances agree — the balances recomputed from the ledger (``balances.check``) equal the
stored ones. A database without the stock forms has nothing to check."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _ledger_and_balances_agree(request: pytest.FixtureRequest) -> Iterator[None]:
    if "engine" not in request.fixturenames:
        yield
        return
    engine = request.getfixturevalue("engine")
    yield
    from mom.engines.inventory import balances
    from mom.platform.db.engine import read_tx
    with read_tx(engine) as conn:
        differences = balances.check(conn)
    assert differences == [], f"the stock ledger and the balances disagree after this test: {differences}"
