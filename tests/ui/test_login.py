"""Signing in sends one request per submit (issue 16 review, item 1): sign-in failures are throttled
(5 → back-off, 10 → lock), so Enter in the password field must not count twice, nor a double click;
the server's message is shown as it is, without a second "登录失败" in front."""
from __future__ import annotations

from tests.ui.conftest import login


def test_one_enter_sends_one_sign_in_and_shows_the_servers_message(page, server) -> None:  # type: ignore[no-untyped-def]
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/auth/token") else None)
    page.goto(server + "/#/login")
    page.fill("[data-test=username]", "qc1")
    page.fill("[data-test=password]", "not-the-password")
    page.press("[data-test=password]", "Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    page.wait_for_timeout(500)
    assert len(posts) == 1, posts
    text = alert.inner_text()
    assert "用户名或密码" in text and not text.startswith("登录失败"), text
    # a double click while the request is under way still sends one
    page.fill("[data-test=password]", "qc1pass123")
    page.dblclick("[data-test=login]")
    page.wait_for_selector("[data-test=me]", state="attached")
    assert len(posts) == 2, posts


def test_signing_in_still_works_with_the_button(page, server) -> None:  # type: ignore[no-untyped-def]
    login(page, server)
