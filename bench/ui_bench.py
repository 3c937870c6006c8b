"""Web app first paint (issue 5): the app shell on localhost, against a trivial page in the same run.

    python bench/ui_bench.py [--reps 15]

Starts the platform (SQLite, demo content) and a plain static server on free 127.0.0.1 ports, then
opens each page in a fresh chromium context (empty cache) and reads the browser's own
first-contentful-paint. Figures: median and p95 of the app shell (`/`, the login screen, and `/#/`
after login, the home screen with the menu) and of the trivial page (baseline), their ratio, and
which script chunks the shell loaded — the designers, charts and the camera decoder must not be
among them (they load lazily).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAZY = ("FormDesigner", "FlowDesigner", "ReportDesigner", "DashboardDesigner", "echarts", "zxing", "ScheduleBoard")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _platform(tmp: Path) -> str:
    import uvicorn

    from mom.platform.api.app import create_app
    from mom.platform.cli.demo import load_demo
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade
    from mom.platform.settings import Settings

    settings = Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp}/ui.db")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    for _ in load_demo(engine):     # a generator of progress lines
        pass
    port = _port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _static(tmp: Path) -> str:
    (tmp / "plain.html").write_text("<!doctype html><meta charset=utf-8><title>x</title><h1>来料检验</h1>", encoding="utf-8")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", _port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/plain.html"


FCP = """() => new Promise((done) => {
  const got = performance.getEntriesByName('first-contentful-paint')[0]
  if (got) return done(got.startTime)
  new PerformanceObserver((list) => done(list.getEntriesByName('first-contentful-paint')[0].startTime))
    .observe({ type: 'paint', buffered: true })
})"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="mom-ui-bench-"))
    base, plain = _platform(tmp), _static(tmp)
    out: dict[str, list[float]] = {"plain": [], "shell": [], "home": []}
    scripts: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for _ in range(args.reps):
            for name, url in (("plain", plain), ("shell", base + "/")):
                ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
                page = ctx.new_page()
                if name == "shell":
                    page.on("request", lambda r: scripts.add(r.url.rsplit("/", 1)[-1]) if r.resource_type == "script" else None)
                page.goto(url)
                out[name].append(page.evaluate(FCP))
                if name == "shell":
                    # the home screen after login: the menu comes from the API
                    page.fill("[data-test=username]", "admin")
                    page.fill("[data-test=password]", "admin123")
                    t0 = time.perf_counter()
                    page.click("[data-test=login]")
                    page.wait_for_selector("[data-test=me]", state="attached")
                    page.locator(".nav").first.wait_for()
                    out["home"].append((time.perf_counter() - t0) * 1000)
                ctx.close()
        browser.close()

    def stat(v: list[float]) -> str:
        q = statistics.quantiles(v, n=20)[18] if len(v) >= 2 else v[0]
        return f"median {statistics.median(v):.0f} ms, p95 {q:.0f} ms"

    print(f"trivial page first paint:  {stat(out['plain'])}")
    print(f"app shell first paint:     {stat(out['shell'])}  "
          f"(ratio of medians {statistics.median(out['shell']) / statistics.median(out['plain']):.2f})")
    print(f"login → home with menu:    {stat(out['home'])}")
    lazy = sorted(s for s in scripts if any(s.startswith(x) for x in LAZY))
    print(f"scripts the shell loaded:  {sorted(scripts)}")
    print(f"lazy chunks loaded early:  {lazy or 'none'}")
    sys.exit(1 if lazy else 0)


if __name__ == "__main__":
    main()
