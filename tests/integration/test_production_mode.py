"""Production mode and the demo passwords (issue 16, item 6): with MOM_PRODUCTION=true the API
description needs a sign-in and `mom serve` refuses to start while a demo password still works;
in the default mode it starts and warns loudly, naming the users and the command that fixes it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from mom.platform.settings import Settings, get_settings
from tests.conftest import login


@pytest.fixture
def production(settings: Settings, engine: sa.engine.Engine) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"production": True}), engine, migrate=False)
    with TestClient(app) as c:
        yield c


def test_production_api_description_needs_a_sign_in(production: TestClient, engine: sa.engine.Engine) -> None:
    r = production.get("/openapi.json")
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    assert production.get("/openapi.json", headers={"Authorization": "Bearer mom_forged"}).status_code == 401
    # the pages are empty shells: nothing of the API without a sign-in
    for path in ("/docs", "/redoc"):
        page = production.get(path)
        assert page.status_code == 200 and "/api/" not in page.text
    with write_tx(engine) as conn:   # any signed-in user (or API token) may read it
        auth.create_user(conn, username="op1", password="op1-pass-123")
    spec = production.get("/openapi.json", headers=login(production, "op1", "op1-pass-123"))
    assert spec.status_code == 200 and "/api/records/{form}" in spec.json()["paths"]


def test_default_mode_api_description_is_public(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 200


@pytest.fixture
def demo_users(engine: sa.engine.Engine) -> None:
    """admin and qc1 with their demo passwords, buyer with a password of its own, pm disabled."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password="admin123", is_admin=True)
        auth.create_user(conn, username="qc1", password="qc1pass123")
        auth.create_user(conn, username="buyer", password="a-real-secret-9")
        auth.create_user(conn, username="pm", password="pmpass123")
        conn.execute(sa.text("UPDATE mom_user SET is_active = :f WHERE username = 'pm'"), {"f": False})


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `mom serve` hands to uvicorn (uvicorn.run records instead of serving); no in-process worker."""
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setenv("MOM_WORKER_IN_SERVE", "false")
    get_settings.cache_clear()
    return calls


def test_production_serve_refuses_while_demo_passwords_work(cli, demo_users: None, served: list,  # type: ignore[no-untyped-def]
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOM_PRODUCTION", "true")
    get_settings.cache_clear()
    res = cli("serve", "--port", "8765")
    assert res.exit_code == 1 and served == []
    assert "生产模式" in res.stderr and "production mode" in res.stderr
    assert "用户 admin、qc1 仍在使用演示密码" in res.stderr
    assert "users admin, qc1 still" in res.stderr and "buyer" not in res.stderr   # pm is disabled: no risk
    assert "mom user passwd admin" in res.stderr and "mom user passwd qc1" in res.stderr
    # the command it names fixes it
    assert cli("user", "passwd", "admin", "--password", "admin123").exit_code == 1     # not a demo password again
    for user in ("admin", "qc1"):
        out = cli("user", "passwd", user, "--password", f"{user}-new-secret-7")
        assert out.exit_code == 0, out.output
    res = cli("serve", "--port", "8765")
    assert res.exit_code == 0, res.output
    assert len(served) == 1 and served[0][1]["port"] == 8765 and "demo" not in res.stderr


def test_default_serve_warns_loudly_and_serves(cli, demo_users: None, served: list) -> None:  # type: ignore[no-untyped-def]
    res = cli("serve", "--port", "8766")
    assert res.exit_code == 0 and len(served) == 1
    assert "警告" in res.stderr and "WARNING" in res.stderr
    assert "admin, qc1" in res.stderr and "mom user passwd admin" in res.stderr and "MOM_PRODUCTION=true" in res.stderr


def test_passwd_sets_the_password_and_ends_sessions(cli, client: TestClient, demo_users: None) -> None:  # type: ignore[no-untyped-def]
    old = login(client, "qc1", "qc1pass123")
    out = cli("user", "passwd", "qc1", "--password", "qc1-new-secret-7")
    assert out.exit_code == 0 and "qc1" in out.output
    assert client.get("/api/auth/me", headers=old).status_code == 401           # the old session is over
    assert client.post("/api/auth/token", data={"username": "qc1", "password": "qc1pass123"}).status_code == 401
    assert login(client, "qc1", "qc1-new-secret-7")
    bad = cli("user", "passwd", "nobody", "--password", "whatever-secret-1")
    assert bad.exit_code == 1 and "nobody" in bad.stderr
    short = cli("user", "passwd", "qc1", "--password", "short")
    assert short.exit_code == 1 and "8" in short.stderr
