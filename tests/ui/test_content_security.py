"""The web app and the API docs work under the server's Content-Security-Policy (issue 16, item 6):
the main screens, a chart dashboard, a print preview (a blob: page), the camera scanner, Swagger UI
and ReDoc, with no CSP violation reported by the browser and nothing loaded from outside."""
from __future__ import annotations

from tests.ui.conftest import CAMERA_CODE, login, open_print

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' @' + e.sourceFile + ':' + e.lineNumber));
"""


def watch(context) -> list[str]:  # type: ignore[no-untyped-def]
    """CSP violations of every page of ``context``: the DOM events and the console's "Refused to …" lines."""
    seen: list[str] = []
    context.add_init_script(WATCH)
    context.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    context.on("requestfinished", lambda r: seen.append("outside: " + r.url)
               if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    return seen


def violations(page, seen: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    return seen + page.evaluate("window.__csp || []")


def enforced(browser, **kw):  # type: ignore[no-untyped-def]
    """A browser context that keeps the page's CSP (the shared fixtures bypass it for wait_for_function)."""
    return browser.new_context(**{"locale": "zh-CN", "viewport": {"width": 1366, "height": 768}, **kw}, bypass_csp=False)


def test_main_screens_run_under_the_policy(browser, server, api) -> None:  # type: ignore[no-untyped-def]
    context = enforced(browser)
    seen = watch(context)
    page = context.new_page()
    login(page, server)
    for route, ready in (("/#/", "[data-test=me]"), ("/#/f/iqc_inspection", ".el-table"),
                         ("/#/d/quality_overview", "canvas"), ("/#/r/iqc_by_supplier", ".el-table"),
                         ("/#/design/form", ".el-button"), ("/#/schedule", ".el-button"), ("/#/inbox", ".el-tabs")):
        page.goto(server + route)
        page.wait_for_selector(ready, timeout=15_000)
        page.wait_for_timeout(300)
        assert violations(page, seen) == [], route
    label = open_print(page, server, api, "来料批次标签")
    assert label.url.startswith("blob:") and "<svg" in label.content()
    assert violations(label, seen) == [] and violations(page, seen) == []
    context.close()


def test_camera_scanner_runs_under_the_policy(browser, server) -> None:  # type: ignore[no-untyped-def]
    phone = enforced(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, permissions=["camera"])
    seen = watch(phone)
    page = phone.new_page()
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/shopfloor")
    page.click("[data-test=camera-start]")
    page.locator("[data-test=scan-match]").wait_for(timeout=30_000)
    assert CAMERA_CODE in page.locator("[data-test=scan-match]").inner_text()
    assert violations(page, seen) == []
    phone.close()


def test_api_docs_render_offline_under_the_policy(browser, server) -> None:  # type: ignore[no-untyped-def]
    context = enforced(browser)
    seen = watch(context)
    page = context.new_page()
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)         # Swagger UI drew the operations
    assert page.locator(".opblock").count() > 50
    assert page.locator("#mom-docs-note").is_hidden()
    assert violations(page, seen) == []
    page.goto(server + "/redoc")
    page.wait_for_selector("[data-section-id]", timeout=30_000)   # ReDoc drew the sections
    page.wait_for_timeout(500)
    # ReDoc's menu footer would load its maker's logo from cdn.redoc.ly: the served bundle points it
    # at our own icon, so the page asks nothing of any other host (not even a request the CSP blocks)
    assert violations(page, seen) == []
    context.close()


def test_redoc_requests_nothing_from_another_host(browser, server) -> None:  # type: ignore[no-untyped-def]
    """The review's finding: /redoc requested https://cdn.redoc.ly/redoc/logo-mini.svg."""
    context = enforced(browser)
    asked: list[str] = []
    context.on("request", lambda r: asked.append(r.url))
    page = context.new_page()
    page.goto(server + "/redoc")
    page.wait_for_selector("[data-section-id]", timeout=30_000)
    page.wait_for_timeout(500)
    assert asked and all(u.startswith(("http://127.0.0.1", "data:", "blob:")) for u in asked), asked
    context.close()
