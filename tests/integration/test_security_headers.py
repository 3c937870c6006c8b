"""Security headers on every answer, and API docs that load with nothing from outside (issue 16, items 1 and 6)."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from mom.platform.api.routes_ui import ui_dist


class Refs(HTMLParser):
    """Every URL a page makes the browser load (scripts, styles, icons, images), and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.urls.append(a["src"])
            else:
                self._in_script = True
        elif tag == "link" and a.get("href"):
            self.urls.append(a["href"])
        elif tag in ("img", "iframe") and a.get("src"):
            self.urls.append(a["src"])

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def refs(page: str) -> Refs:
    p = Refs()
    p.feed(page)
    return p


def csp_of(resp) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out = {}
    for part in resp.headers["content-security-policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def assert_secured(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.headers["x-frame-options"] == "DENY", resp.url
    assert resp.headers["x-content-type-options"] == "nosniff", resp.url
    assert resp.headers["referrer-policy"] == "no-referrer", resp.url
    csp = csp_of(resp)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]            # no inline script, no eval, nothing from outside
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert all("http" not in v and v != "*" for values in csp.values() for v in values)


def test_every_kind_of_answer_carries_the_headers(client: TestClient, demo_forms: dict) -> None:
    answers = [client.get("/"), client.get("/api/health"), client.get("/api/forms"),                # page, JSON, 401
               client.get("/api/records/nope", headers=demo_forms), client.get("/no/such/path"),   # 404s
               client.get("/api/records/supplier/export?format=csv", headers=demo_forms),          # a streamed file
               client.post("/api/records/supplier", headers=demo_forms, content=b"x" * (3 * 1024 * 1024)),  # 413
               client.get("/docs"), client.get("/redoc"), client.get("/openapi.json")]
    assert [r.status_code for r in answers] == [200, 200, 401, 404, 404, 200, 413, 200, 200, 200]
    for r in answers:
        assert_secured(r)


def test_the_built_web_app_needs_no_inline_script_and_nothing_from_outside(client: TestClient) -> None:
    if ui_dist() is None:   # pragma: no cover - the build is committed
        return
    home = client.get("/")
    page = refs(home.text)
    assert page.inline_scripts == 0     # script-src 'self' would block one
    assert page.urls
    for url in page.urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/") and not url.startswith("//"), url
        r = client.get(url)
        assert r.status_code == 200, url
        assert_secured(r)


def test_docs_load_every_file_from_this_server(client: TestClient) -> None:
    # ReDoc's bundle is served from /docs/redoc.js with its maker's logo address replaced by ours
    for path, reader in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "/docs/redoc.js")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = refs(r.text)
        assert page.inline_scripts == 0
        assert any(u.endswith(reader) for u in page.urls), page.urls
        for url in page.urls:
            assert not urlsplit(url).scheme and not url.startswith("//"), f"{path} loads {url} from outside"
            asset = client.get(url)
            assert asset.status_code == 200 and asset.content, url
    assert "cdn.redoc.ly" not in client.get("/docs/redoc.js").text
    init = client.get("/docs/init.js")
    assert "/openapi.json" in init.text and "http" not in init.text
    spec = client.get("/openapi.json").json()
    assert "/api/records/{form}" in spec["paths"]
