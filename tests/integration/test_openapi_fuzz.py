"""schemathesis over the whole OpenAPI, on the demo plant, as an administrator, as a low-privilege
shop-floor user (qc1) and without signing in; on SQLite and (in CI's second pass) PostgreSQL.

Every operation gets at most ``MOM_FUZZ_EXAMPLES`` generated requests (default 10) per identity. What
is asserted for each answer (docs/errors.md "Checked by fuzzing"):

- no 5xx (schemathesis ``not_a_server_error``);
- an answer with a documented schema matches it (``response_schema_conformance``: the envelope models
  of platform/api/models.py, and every 4xx documented as our error shape, ``ErrorRead``);
- every 4xx of an /api path is JSON in the one error shape ``{code, message: {zh-CN, en}}``;
- OPTIONS answers 204 with ``Allow`` listing exactly the documented methods of the path.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

import sqlalchemy as sa  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from mom.platform.api.app import create_app  # noqa: E402
from mom.platform.auth import service as auth  # noqa: E402
from mom.platform.db import tables as T  # noqa: E402
from mom.platform.db.engine import make_engine, write_tx  # noqa: E402
from mom.platform.settings import Settings  # noqa: E402

# about a minute on a quiet machine: slow, and a timeout of its own above the suite's 120 s per test
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

EXAMPLES = int(os.environ.get("MOM_FUZZ_EXAMPLES", "10"))
FORMS = ["iqc_inspection", "ncr", "supplier", "item"]


class Plant:
    """The demo plant behind the fuzzed app, with a token per identity (re-issued if a case revokes it)."""

    def __init__(self, app: Any, engine: sa.engine.Engine) -> None:
        self.app, self.engine = app, engine
        self.tokens: dict[str, str] = {}
        self.statuses: Counter[tuple[str, int]] = Counter()   # (method class, status) seen, printed at the end

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        if who not in self.tokens:
            with write_tx(self.engine) as conn:
                uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == who)).scalar_one()
                self.tokens[who] = auth.issue_token(conn, uid)["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory, db_templates: Any) -> Iterator[Plant]:
    """A copy of the session's demo-plant database (tests/templates.py)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with db_templates.database("plant", tmp) as url:
        engine = make_engine(url, pool_size=5)
        settings_ = Settings(data_dir=Path(tmp) / "data", database_url=url, max_request_bytes=2 * 1024 * 1024,
                             schedule_max_seconds=1.0, report_max_scan_rows=50_000)
        plant_ = Plant(create_app(settings_, engine, migrate=False), engine)
        yield plant_
        print("\nfuzz answers (method, status): count", sorted(plant_.statuses.items()))
        engine.dispose()


@pytest.fixture(scope="module")
def api_schema(plant: Plant) -> Any:
    config = schemathesis.config.SchemathesisConfig.from_dict({
        # real names and ids half of the time, so that cases reach the handlers instead of 404
        "dictionaries": {"forms": {"values": FORMS}, "ids": {"values": [1, 2, 3]}},
        "parameters": {"path.form": {"dictionary": "forms", "probability": 0.5},
                       "path.record_id": {"dictionary": "ids", "probability": 0.5}},
    })
    return schemathesis.openapi.from_asgi("/openapi.json", plant.app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


def _check_shape(case: Any, response: Any) -> None:
    """Every 4xx of an /api path: JSON, ``{code, message: {zh-CN, en}}``; OPTIONS: 204 with the documented methods."""
    method, path = response.request.method, case.formatted_path
    if method == "OPTIONS":
        assert response.status_code == 204, (method, path, response.status_code)
        documented = {m.upper() for m in case.operation.schema.raw_schema["paths"][case.operation.path]}
        allow = {m.strip() for m in response.headers.get("allow", [""])[0].split(",")} - {"HEAD", "OPTIONS"}
        assert allow == documented & {"GET", "PUT", "POST", "DELETE", "PATCH"}, (path, allow, documented)
        return
    if not path.startswith("/api/") or not 400 <= response.status_code < 500:
        return
    ctype = response.headers.get("content-type", [""])[0]
    assert ctype.startswith("application/json"), (method, path, response.status_code, ctype)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("code"), str), (method, path, response.status_code, body)
    assert set(body.get("message") or {}) >= {"zh-CN", "en"}, (method, path, response.status_code, body)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_one_error_shape(case: Any, plant: Plant) -> None:
    for who in ("admin", "qc1", "anonymous"):
        response = case.call(headers=plant.headers(who))
        plant.statuses[(response.request.method, response.status_code)] += 1
        if response.status_code == 401 and who != "anonymous":   # the case revoked our own token: a new one
            plant.tokens.pop(who, None)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        _check_shape(case, response)
