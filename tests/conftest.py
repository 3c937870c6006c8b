"""Shared fixtures. Integration tests run on SQLite by default and on PostgreSQL when
MOM_TEST_DATABASE_URL is set.

Each test gets a database of its own, copied from a template built once per session (templates.py),
chosen by the fixtures the test uses: ``plant`` (`mom demo`: core with its demo plant, the demo pack on
top, and qe2), ``demo_forms`` (an admin, the demo's supplier and inspection forms, core's item form and a
few records), ``core_pack`` (the core pack with its demo plant, as `mom pack install core --yes --demo`
installs it), ``core_bare`` (the core pack alone, `mom pack install core --yes`), ``admin`` (an admin user), ``engine`` or anything built on it (the
migrated schema); a test that uses only ``db_url``/``settings``/``cli`` gets an empty database. File
storage (``settings.data_dir``) is per test.

The fixtures' own users have scrypt hashes of the lowest cost (``fixture_hash``), so signing them in
takes microseconds instead of ~50 ms (test settings of web frameworks use a fast hasher the same way);
users a test creates itself, and every password set through the product, get the real cost.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.auth import service as auth
from mom.platform.db.engine import make_engine, write_tx
from mom.platform.settings import Settings
from tests.templates import Templates

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MOM_TEST_DATABASE_URL", "")

# Tests are never timed (speed is measured by bench/, docs/benchmarks.md). httpx gives up on a request after
# 5 s by default, and on CI's loaded 2-core machine one dispatch-list request beside a running Chromium took
# longer (stop 33): calls to the test servers wait up to a minute unless a test sets its own timeout.
for _call in (httpx.request, httpx.get, httpx.post, httpx.put, httpx.patch, httpx.delete, httpx.head,
              httpx.options, httpx.stream.__wrapped__, httpx.Client.__init__):  # type: ignore[attr-defined]
    _call.__kwdefaults__["timeout"] = httpx.Timeout(60.0)


@pytest.hookimpl(optionalhook=True)      # without pytest-xdist (``-p no:xdist``) the hook does not exist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (pyproject.toml) hands out the test files expected to take longest first
    (tests/file_order.py), so that no long file starts last on one worker while the other idles."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.file_order import LongestFileFirst

    return LongestFileFirst(config, log)


def sample_form(name: str = "iqc_inspection") -> dict[str, Any]:
    """A form the packs ship: the demo pack's, else the core pack's (``item``: the demo's materials are core items)."""
    for pack in ("demo", "core"):
        path = ROOT / "modelpacks" / pack / "forms" / f"{name}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no pack ships a form {name}")


def fixture_hash(password: str) -> str:
    """A valid scrypt hash of ``password`` at the lowest cost (n=16): for the fixtures' own users only."""
    return auth.hash_password(password, cost=16)


def _cheap_passwords(engine: sa.engine.Engine, passwords: dict[str, str]) -> None:
    with write_tx(engine) as conn:
        for username, password in passwords.items():
            conn.execute(sa.text("UPDATE mom_user SET password_hash = :h WHERE username = :u"),
                         {"h": fixture_hash(password), "u": username})


def _load_admin(engine: sa.engine.Engine) -> None:
    """The `admin` template: an administrator admin / admin-pass-1."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password_hash=fixture_hash("admin-pass-1"), is_admin=True)


def _load_demo_forms(engine: sa.engine.Engine, folder: Path) -> None:
    """The `demo_forms` template: the admin, the demo's supplier and inspection forms and core's item form
    (物料) published through the API, two suppliers and two items (MAT-1, MAT-2)."""
    _load_admin(engine)
    url = engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(data_dir=folder / "data", database_url=url), engine, migrate=False)) as client:
        _publish_demo_forms(client, login(client, "admin", "admin-pass-1"))
    with write_tx(engine) as conn:      # the test signs in for itself: no session of the build stays behind
        conn.execute(sa.text("DELETE FROM mom_token"))


def _load_plant(engine: sa.engine.Engine) -> None:
    """The `plant` template: `mom demo` (users, departments, the core pack with its demo plant, the demo
    pack's forms, NCR flow, rules) and a second quality engineer qe2."""
    from mom.platform.cli.demo import USERS, load_demo

    # the stock tests count from an empty ledger, the production tests from an empty shop floor;
    # test_quality_demo.py and test_equipment_demo.py add the histories
    for _ in load_demo(engine, quality_history=False, equipment_history=False):
        pass
    with write_tx(engine) as conn:
        auth.create_user(conn, username="qe2", password_hash=fixture_hash("qe2pass123"), display_name="质量工程师小钱",
                         department="QC", roles=["quality_engineer"])
    _cheap_passwords(engine, {u[0]: u[1] for u in USERS})


def _load_core(engine: sa.engine.Engine, demo: bool = True) -> None:
    """The `core` template: the core pack with its demo plant (制造基础 and the valve plant), installed the way
    `mom pack install core --yes --demo` installs it (the plant's time zone from the settings), and nobody else;
    ``demo=False``: the `core_bare` template, the pack's forms and master data alone (`mom pack install core --yes`)."""
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry

    manager.execute(engine, None, "install", "core", forms_factory=form_registry, demo=demo,
                    tz=plant_tz(Settings(database_url="sqlite://").timezone))


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """The session's template databases (built on first use, removed at the end)."""
    folder = tmp_path_factory.mktemp("db-templates")
    t = Templates(PG_URL, folder, {"admin": _load_admin, "demo_forms": lambda e: _load_demo_forms(e, folder),
                                   "plant": _load_plant, "core": _load_core,
                                   "core_bare": lambda e: _load_core(e, demo=False)})
    yield t
    t.close()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, db_templates: Templates) -> Iterator[str]:
    names = request.fixturenames
    kind = next((k for k in ("plant", "core_pack", "core_bare", "demo_forms", "admin", "engine") if k in names), "empty")
    kind = {"engine": "migrated", "core_pack": "core"}.get(kind, kind)
    if kind != "empty":
        with _untimed(request.node):
            db_templates._template(kind)        # built once per worker, the first time a test asks for it
    with db_templates.database(kind, tmp_path) as url:
        yield url


@contextlib.contextmanager
def _untimed(item: pytest.Item) -> Iterator[None]:
    """The test's timeout (pyproject.toml: 120 s for set-up, call and tear-down) stops while the session's
    template is built and starts afresh after it: building one (migrating, installing a pack, loading the
    demo) is done once per worker for all its tests, and took over 120 s on a loaded 2-core machine."""
    try:
        from pytest_timeout import _get_item_settings
    except ImportError:                 # pytest-timeout not installed: no timer to stop
        yield
        return
    settings = _get_item_settings(item)
    running = bool(settings.timeout) and settings.func_only is False and getattr(item, "cancel_timeout", None)
    if not running:
        yield
        return
    hooks = item.config.pluginmanager.hook
    hooks.pytest_timeout_cancel_timer(item=item)
    try:
        yield
    finally:
        hooks.pytest_timeout_set_timer(item=item, settings=settings)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.engine.Engine]:
    """An engine on the test's database, migrated (a copy of the session's migrated template)."""
    eng = make_engine(db_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, max_request_bytes=2 * 1024 * 1024)


@pytest.fixture
def client(settings: Settings, engine: sa.engine.Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine, migrate=False)    # the template is migrated (test_migrations checks migrating)
    with TestClient(app) as c:
        yield c


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    """Headers of the administrator admin (in the test's database from its template)."""
    return login(client, "admin", "admin-pass-1")


def _publish_demo_forms(client: TestClient, admin: dict[str, str]) -> None:
    for name in ("supplier", "item", "iqc_inspection"):
        r = client.put(f"/api/forms/{name}", json=sample_form(name), headers=admin)
        assert r.status_code == 200, r.text
    r = client.post("/api/records/supplier", headers=admin, json=[
        {"code": "SUP-001", "name": "温州精密铸造"}, {"code": "SUP-002", "name": "瑞安标准件厂"}])
    assert r.status_code == 201, r.text
    r = client.post("/api/records/item", headers=admin, json=[{"code": "MAT-1", "name": "阀体"}, {"code": "MAT-2", "name": "螺栓"}])
    assert r.status_code == 201, r.text


@pytest.fixture
def demo_forms(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """The demo pack's supplier and inspection forms and core's item form with two suppliers and two items (in the
    test's database from its template); returns admin headers."""
    return admin


@pytest.fixture
def plant(client: TestClient, engine: sa.engine.Engine) -> Any:
    """The demo pack (users, departments, forms, NCR flow, rules) on the test database, and a second
    quality engineer qe2 (the database is a copy of the session's `plant` template)."""
    from tests.integration.wf_helpers import Plant

    return Plant(client)


@pytest.fixture
def core_pack(engine: sa.engine.Engine) -> sa.engine.Engine:
    """The test's engine on a database holding the core pack with its demo plant and no user (a copy of the
    session's `core` template: installing it per test took several seconds); test_core_pack.py installs it
    through the CLI itself."""
    return engine


@pytest.fixture
def core_bare(engine: sa.engine.Engine) -> sa.engine.Engine:
    """The test's engine on a database holding the core pack without its demo plant (forms, roles, the standard
    calendar: what `mom pack install core --yes` installs) and no user; a copy of the session's `core_bare`
    template (installing it per test took 5–6 s on SQLite)."""
    return engine


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
