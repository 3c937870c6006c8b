"""Shared fixtures. Integration tests run on SQLite by default and on PostgreSQL when
MOM_TEST_DATABASE_URL is set (each test gets its own schema, dropped afterwards)."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.auth import service as auth
from mom.platform.db.engine import make_engine, write_tx
from mom.platform.db.migrate import upgrade
from mom.platform.settings import Settings, normalize_database_url

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MOM_TEST_DATABASE_URL", "")


def sample_form(name: str = "iqc_inspection") -> dict[str, Any]:
    return json.loads((ROOT / "modelpacks" / "demo" / "forms" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    base = normalize_database_url(PG_URL)
    admin = sa.create_engine(base)
    with admin.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.engine.Engine]:
    eng = make_engine(db_url, pool_size=5)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, max_request_bytes=2 * 1024 * 1024)


@pytest.fixture
def client(settings: Settings, engine: sa.engine.Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as c:
        yield c


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient, engine: sa.engine.Engine) -> dict[str, str]:
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password="admin-pass-1", is_admin=True)
    return login(client, "admin", "admin-pass-1")


@pytest.fixture
def demo_forms(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """Publish the demo pack's forms and a few suppliers/materials; returns admin headers."""
    for name in ("supplier", "material", "iqc_inspection"):
        r = client.put(f"/api/forms/{name}", json=sample_form(name), headers=admin)
        assert r.status_code == 200, r.text
    r = client.post("/api/records/supplier", headers=admin, json=[
        {"code": "SUP-001", "name": "温州精密铸造"}, {"code": "SUP-002", "name": "瑞安标准件厂"}])
    assert r.status_code == 201, r.text
    r = client.post("/api/records/material", headers=admin, json=[{"code": "MAT-1", "name": "阀体"}, {"code": "MAT-2", "name": "螺栓"}])
    assert r.status_code == 201, r.text
    return admin


@pytest.fixture
def plant(client: TestClient, engine: sa.engine.Engine) -> Any:
    """The demo pack (users, departments, forms, NCR flow, rules) on the test database, and a second
    quality engineer qe2."""
    from mom.platform.cli.demo import load_demo
    from tests.integration.wf_helpers import Plant

    for _ in load_demo(engine):
        pass
    with write_tx(engine) as conn:
        auth.create_user(conn, username="qe2", password="qe2pass123", display_name="质量工程师小钱",
                         department="QC", roles=["quality_engineer"])
    return Plant(client)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `mom …` in-process against the test database; returns the click Result."""
    from click.testing import CliRunner

    from mom.platform.cli.main import main
    from mom.platform.settings import get_settings

    monkeypatch.setenv("MOM_DATABASE_URL", db_url)
    monkeypatch.setenv("MOM_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    get_settings.cache_clear()
