"""Browser tests: the real server (SQLite, demo content) on a free 127.0.0.1 port, driven by
Playwright in Debian's chromium (never a downloaded browser; see docs/ui.md).

Without /usr/bin/chromium these tests are skipped, unless MOM_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure."""
from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Screenshots of the main screens go to test-results/screenshots (ignored by git), so a test run leaves
# `git status` clean; to refresh the README's pictures: MOM_SCREENSHOTS=docs/screenshots python3 -m pytest tests/ui
SHOTS = ROOT / os.environ.get("MOM_SCREENSHOTS", "test-results/screenshots")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_BROWSER = Path(CHROMIUM).exists() and importlib.util.find_spec("playwright") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.ui)
            if not HAVE_BROWSER:
                if os.environ.get("MOM_REQUIRE_BROWSER") == "1":
                    raise pytest.UsageError("MOM_REQUIRE_BROWSER=1 but chromium or playwright is missing: apt-get install chromium; pip install -e '.[test]'")
                item.add_marker(pytest.mark.skip(reason="chromium or playwright not installed (apt-get install chromium)"))


CAMERA_CODE = "IQC-DEMO-0001"     # what the fake camera shows, as a QR code


def _qr_video(path: Path, text: str, width: int = 640, height: int = 480) -> None:
    """A few Y4M frames of a QR code: chromium plays it as the camera (--use-file-for-fake-video-capture)."""
    import segno

    rows = [list(r) for r in segno.make(text, error="m").matrix_iter(scale=8, border=4)]
    luma = bytearray([255]) * (width * height)
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                luma[(top + y) * width + left + x] = 0
    chroma = bytes([128]) * (width * height // 2)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(3):
            f.write(b"FRAME\n" + bytes(luma) + chroma)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    video = tmp_path_factory.mktemp("camera") / "qr.y4m"
    _qr_video(video, CAMERA_CODE)
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     # a fake camera that shows a QR code, and no permission prompt
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={video}"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # Playwright's wait_for_function evaluates its string in the page, which the server's CSP (no eval)
    # forbids; the app itself runs under the policy in test_content_security.py (contexts without bypass)
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1366, "height": 768}, "bypass_csp": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from mom.platform.api.app import create_app
    from mom.platform.api.routes_ui import ui_dist
    from mom.platform.cli.demo import load_demo
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade
    from mom.platform.settings import Settings

    assert ui_dist() is not None, "the web app is not built: cd ui && npm ci && npm run build"
    data = tmp_path_factory.mktemp("ui-data")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'mom.sqlite3'}")
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    for _ in load_demo(engine):
        pass
    yield from _serve(create_app(settings, engine, migrate=False))
    engine.dispose()


def _serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Run ``app`` on a free 127.0.0.1 port until the generator is closed; yields its base URL."""
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.config.port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/api/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    srv.should_exit = True
    thread.join(5)


#: people of the core pack's server (core_server): name -> (password, role; None = administrator)
CORE_USERS = {"admin": ("admin123", None), "plan1": ("plan1pass123", "planner"), "op1": ("op1pass1234", "operator")}


_CORE_BUILT: list[Path] = []      # the test process's core database, made once (see core_database)


def core_database(data: Path) -> str:
    """A SQLite database in ``data`` holding the core pack with its demo plant and CORE_USERS, made the
    way plant IT would (`mom db upgrade`, `mom pack install core --yes --demo`, `mom user add`); its URL.
    The commands run once per test process (about 6 s of CPU); every caller gets a copy of that database."""
    if not _CORE_BUILT:
        folder = Path(tempfile.mkdtemp(prefix="mom-ui-core-"))
        atexit.register(shutil.rmtree, folder, True)
        _core_commands(folder)
        _CORE_BUILT.append(folder / "mom.sqlite3")
    target = data / "mom.sqlite3"
    with contextlib.closing(sqlite3.connect(_CORE_BUILT[0])) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)                # reads through a write-ahead log the commands may have left
    return f"sqlite:///{target}"


def _core_commands(data: Path) -> None:
    """`mom db upgrade`, `mom pack install core --yes --demo` and `mom user add` for CORE_USERS, in ``data``."""
    from click.testing import CliRunner

    from mom.platform.cli.main import main
    from mom.platform.settings import get_settings

    url = f"sqlite:///{data / 'mom.sqlite3'}"
    env = {"MOM_DATABASE_URL": url, "MOM_DATA_DIR": str(data)}
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        for args in (["db", "upgrade"], ["pack", "install", "core", "--yes", "--demo"],
                     *(["user", "add", name, "--password", pw, *(["--role", role] if role else ["--admin"])]
                       for name, (pw, role) in CORE_USERS.items())):
            r = runner.invoke(main, args, env=env, catch_exceptions=False)
            assert r.exit_code == 0, r.output
    finally:
        get_settings.cache_clear()


class CoreApi:
    """A core server's API as one of CORE_USERS, for arranging and checking what the browser did."""

    def __init__(self, base: str, user: str) -> None:
        self.base = base
        r = httpx.post(base + "/api/auth/token", data={"username": user, "password": CORE_USERS[user][0]})
        r.raise_for_status()
        self.h = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(self.base + path, headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: Any = None) -> Any:
        r = httpx.post(self.base + path, headers=self.h, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()


class UserApi:
    """A server's API as one user (password ``<user>-pass-1`` unless given), for arranging and checking what
    the browser did on a ``flow_server``; ``call`` checks the answer is not an error."""

    def __init__(self, base: str, user: str, password: str | None = None) -> None:
        self.base = base
        r = httpx.post(base + "/api/auth/token", data={"username": user, "password": password or user + "-pass-1"})
        r.raise_for_status()
        self.h = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        r = httpx.request(method, self.base + path, headers=self.h, json=body, params=params or None)
        assert r.status_code < 300, r.text
        return r.json()


@pytest.fixture(scope="module")
def flow_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                db_templates: Any) -> Iterator[str]:
    """A server of the test module's own, so nothing in it depends on the demo content: an administrator
    (admin / admin-pass-1), the module's ``PEOPLE`` (user -> (display name, roles); password
    ``<user>-pass-1``), and its ``FORM`` and ``FLOW`` published through the API by the administrator.
    The database is a copy of the session's `admin` template (tests/templates.py: migrated once)."""
    from mom.platform.api.app import create_app
    from mom.platform.auth import service as auth
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.settings import Settings
    from tests.conftest import fixture_hash

    module = request.module
    data: Path = tmp_path_factory.mktemp("ui-" + module.__name__.rsplit(".", 1)[-1])
    with db_templates.database("admin", data) as url:
        engine = make_engine(url)
        with write_tx(engine) as conn:
            for user, (name, roles) in module.PEOPLE.items():
                auth.create_user(conn, username=user, display_name=name, roles=roles,
                                 password_hash=fixture_hash(user + "-pass-1"))
        for base in _serve(create_app(Settings(data_dir=data, database_url=url), engine, migrate=False)):
            admin = UserApi(base, "admin", "admin-pass-1")
            admin.call("put", f"/api/forms/{module.FORM['name']}", module.FORM)
            admin.call("put", f"/api/workflows/{module.FLOW['name']}", module.FLOW)
            yield base
        engine.dispose()


@pytest.fixture(scope="module")
def core_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server whose database holds the core pack with its demo plant alone (no demo pack: what
    one plant IT would set up for production), with an administrator, a planner and an operator (CORE_USERS); one per
    test module, so what one module releases and plans never shows in another's dispatch list."""
    from mom.platform.api.app import create_app
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings

    data = tmp_path_factory.mktemp("ui-core")
    url = core_database(data)
    engine = make_engine(url)
    yield from _serve(create_app(Settings(data_dir=data, database_url=url), engine, migrate=False))
    engine.dispose()


@pytest.fixture
def api(server: str):
    """A small API client for arranging and checking what the browser did."""
    def token(user: str, password: str) -> str:
        return httpx.post(server + "/api/auth/token", data={"username": user, "password": password}).json()["access_token"]

    class Api:
        def __init__(self, user: str = "admin", password: str = "admin123") -> None:
            self.h = {"Authorization": f"Bearer {token(user, password)}"}

        def get(self, path: str, **params):
            r = httpx.get(server + path, headers=self.h, params=params)
            r.raise_for_status()
            return r.json()

        def post(self, path: str, body=None):
            r = httpx.post(server + path, headers=self.h, json=body)
            r.raise_for_status()
            return r.json()

    return Api


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and "page" in item.funcargs:   # a screenshot of every failure
        out = ROOT / "test-results"
        out.mkdir(exist_ok=True)
        try:
            item.funcargs["page"].screenshot(path=str(out / f"{item.name}.png"), full_page=True)
        except Exception:  # the page may be gone
            pass


def shot(page, name: str) -> None:
    """Save a screenshot of a main screen under SHOTS (docs/screenshots when MOM_SCREENSHOTS asks for it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def login(page, server: str, user: str = "admin", password: str = "admin123") -> None:
    page.goto(server + "/#/login")
    page.fill("[data-test=username]", user)
    page.fill("[data-test=password]", password)
    page.click("[data-test=login]")
    page.wait_for_selector("[data-test=me]", state="attached")


def open_print(page, server: str, api, template: str, code: str = "IQC-DEMO-0001"):  # type: ignore[no-untyped-def]
    """Open the inspection ``code`` and print it with ``template`` (its menu text); returns the loaded popup."""
    rec = api().get("/api/records/iqc_inspection", code=code)["items"][0]
    page.goto(server + f"/#/f/iqc_inspection/{rec['id']}")
    page.get_by_role("button", name="打印 ▾").click()
    with page.expect_popup() as popup:
        page.locator(".el-dropdown-menu__item:visible", has_text=template).click()
    shown = popup.value
    shown.wait_for_load_state()
    return shown


def drag(page, source, target) -> None:
    """Pointer drag for SortableJS (forceFallback): press, nudge, move in steps, release."""
    source.scroll_into_view_if_needed()
    s = source.bounding_box()
    t = target.bounding_box()
    page.mouse.move(s["x"] + s["width"] / 2, s["y"] + s["height"] / 2)
    page.mouse.down()
    page.mouse.move(s["x"] + s["width"] / 2 + 5, s["y"] + s["height"] / 2 + 5, steps=3)
    page.mouse.move(t["x"] + t["width"] / 2, t["y"] + t["height"] / 2, steps=15)
    page.wait_for_timeout(100)
    page.mouse.up()
    page.wait_for_timeout(200)


def pick(page, select, option_text: str) -> None:
    """Choose an option of an Element Plus select by its visible text."""
    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option_text).first.click()
