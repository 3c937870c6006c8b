"""API tokens (issue 16 item 6): they expire, carry scopes checked on every request, mint tokens only
with tokens:write, take their children with them when revoked, and a revocation holds at once on
every worker (a second app on the same database stands in for another process)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.db import tables as T
from mom.platform.db.engine import make_engine, write_tx
from mom.platform.settings import Settings


def bearer(tok: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok['access_token']}"}


def mint(client: TestClient, by: dict[str, str], expect: int = 201, **body: Any) -> dict[str, Any]:
    r = client.post("/api/auth/api-tokens", json={"name": "t", **body}, headers=by)
    assert r.status_code == expect, r.text
    return r.json()


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_tokens_expire(client: TestClient, demo_forms: dict[str, str], engine: sa.engine.Engine) -> None:
    admin = demo_forms
    now = dt.datetime.now(dt.timezone.utc)
    default = mint(client, admin)
    assert abs(when(default["expires_at"]) - (now + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    assert default["scopes"] == ["read", "write"]
    short = mint(client, admin, expires_in_days=1)
    assert abs(when(short["expires_at"]) - (now + dt.timedelta(days=1))) < dt.timedelta(minutes=1)
    too_long = mint(client, admin, expect=422, expires_in_days=400)
    assert too_long["problems"][0]["path"] == "/expires_in_days" and "365" in too_long["message"]["en"]

    assert client.get("/api/records/supplier", headers=bearer(short)).status_code == 200
    with write_tx(engine) as conn:   # a day passes
        conn.execute(T.token.update().where(T.token.c.id == short["id"])
                     .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    r = client.get("/api/records/supplier", headers=bearer(short))
    assert r.status_code == 401 and "expired" in r.json()["message"]["en"] and "过期" in r.json()["message"]["zh-CN"]

    listed = {t["id"]: t for t in client.get("/api/auth/api-tokens", headers=admin).json()}
    assert listed[short["id"]]["active"] is False and listed[default["id"]]["active"] is True
    assert "access_token" not in listed[default["id"]]


def test_scopes_are_enforced_on_every_request(client: TestClient, demo_forms: dict[str, str]) -> None:
    admin = demo_forms
    reader = bearer(mint(client, admin, scopes=["read"]))
    assert client.get("/api/records/supplier", headers=reader).status_code == 200
    assert client.get("/api/forms", headers=reader).status_code == 200
    assert client.post("/api/records/supplier/preview", json={}, headers=reader).status_code == 200  # writes nothing
    r = client.post("/api/records/supplier", json={"code": "SUP-9", "name": "x"}, headers=reader)
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "insufficient_scope" and body["detail"]["missing_scope"] == "records:supplier:write"
    assert "records:supplier:write" in body["message"]["zh-CN"] and "records:supplier:write" in body["message"]["en"]
    assert client.get("/api/records/supplier?name__like=x", headers=reader).status_code == 200

    one_form = bearer(mint(client, admin, scopes=["records:supplier:write"]))
    assert client.post("/api/records/supplier", json={"code": "SUP-9", "name": "新供应商"}, headers=one_form).status_code == 201
    assert client.get("/api/records/supplier", headers=one_form).status_code == 200      # write includes read
    r = client.get("/api/records/item", headers=one_form)
    assert r.status_code == 403 and r.json()["detail"]["missing_scope"] == "records:item:read"
    assert client.get("/api/forms", headers=one_form).json()["detail"]["missing_scope"] == "forms:read"

    reports = bearer(mint(client, admin, scopes=["reports:read"]))
    assert client.get("/api/reports", headers=reports).status_code == 200
    assert client.get("/api/records/supplier", headers=reports).status_code == 403
    assert client.get("/api/auth/me", headers=reports).status_code == 200                   # who am I: any token

    bad = mint(client, admin, expect=422, scopes=["read", "record:supplier:read", "reports:delete"])
    assert [p["path"] for p in bad["problems"]] == ["/scopes/1", "/scopes/2"]


def test_minting_needs_tokens_write_and_stays_within_the_parent(client: TestClient, demo_forms: dict[str, str]) -> None:
    admin = demo_forms
    plain = bearer(mint(client, admin, scopes=["read", "write"]))
    r = client.post("/api/auth/api-tokens", json={"name": "child"}, headers=plain)
    assert r.status_code == 403 and r.json()["detail"]["missing_scope"] == "tokens:write"
    assert client.post("/api/admin/users", json={"username": "x1", "password": "long-enough-1"}, headers=plain).status_code == 201

    minter_tok = mint(client, admin, scopes=["read", "tokens:write"], expires_in_days=10)
    minter = bearer(minter_tok)
    child = mint(client, minter, scopes=["records:supplier:read"], expires_in_days=300)
    assert child["parent_id"] == minter_tok["id"]
    assert when(child["expires_at"]) <= when(minter_tok["expires_at"])      # cannot outlive its parent
    beyond = mint(client, minter, expect=403, scopes=["write"])
    assert beyond["code"] == "insufficient_scope" and beyond["detail"]["missing_scope"] == "write"
    mint(client, minter, scopes=["read"])   # the same as its own: fine


def test_revoking_a_token_revokes_its_children_at_once_on_every_worker(
        client: TestClient, demo_forms: dict[str, str], settings: Settings, db_url: str) -> None:
    admin = demo_forms
    a = mint(client, admin, scopes=["read", "tokens:write"])
    b = mint(client, bearer(a), scopes=["read", "tokens:write"])
    c = mint(client, bearer(b), scopes=["read"])
    other = mint(client, admin, scopes=["read"])
    engine2 = make_engine(db_url, pool_size=2)   # another worker process: its own pool and caches
    try:
        with TestClient(create_app(settings, engine2, migrate=False)) as worker2:
            for t in (a, b, c, other):   # every token used (and cached) on both workers
                assert client.get("/api/records/supplier", headers=bearer(t)).status_code == 200
                assert worker2.get("/api/records/supplier", headers=bearer(t)).status_code == 200
            r = client.delete(f"/api/auth/tokens/{a['id']}", headers=admin)
            assert r.status_code == 200 and r.json()["revoked_ids"] == sorted([a["id"], b["id"], c["id"]])
            for t in (a, b, c):
                for app in (client, worker2):
                    r = app.get("/api/records/supplier", headers=bearer(t))
                    assert r.status_code == 401 and "revoked" in r.json()["message"]["en"], (t["id"], r.text)
            assert worker2.get("/api/records/supplier", headers=bearer(other)).status_code == 200
            # a child minted from a revoked token cannot appear afterwards
            assert client.post("/api/auth/api-tokens", json={"name": "late"}, headers=bearer(b)).status_code == 401
    finally:
        engine2.dispose()


def test_record_creates_check_the_token_in_their_own_transaction(
        client: TestClient, demo_forms: dict[str, str], settings: Settings, db_url: str, engine: sa.engine.Engine) -> None:
    """A create reads its token's row in its write transaction (the create fast path): a token revoked,
    expired or whose user was disabled after it was used (and cached) is refused at once on every
    worker, nothing is written, and a scope it lacks is still 403."""
    admin = demo_forms
    writer, expiring, reader = (mint(client, admin, scopes=s) for s in (["write"], ["write"], ["read"]))
    engine2 = make_engine(db_url, pool_size=2)

    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM supplier")).scalar_one()

    try:
        with TestClient(create_app(settings, engine2, migrate=False)) as worker2:
            for i, app in enumerate((client, worker2)):   # used twice: the second create takes the cached path
                for j, t in enumerate((writer, expiring, writer, expiring)):
                    r = app.post("/api/records/supplier", json={"code": f"SUP-T{i}{j}", "name": "x"}, headers=bearer(t))
                    assert r.status_code == 201, r.text
                r = app.post("/api/records/supplier", json={"code": f"SUP-R{i}", "name": "x"}, headers=bearer(reader))
                assert r.status_code == 403 and r.json()["detail"]["missing_scope"] == "records:supplier:write"
            before = count()
            assert client.delete(f"/api/auth/tokens/{writer['id']}", headers=admin).status_code == 200
            with write_tx(engine) as conn:
                conn.execute(T.token.update().where(T.token.c.id == expiring["id"])
                             .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
            for app in (worker2, client):
                for t, why in ((writer, "revoked"), (expiring, "expired")):
                    r = app.post("/api/records/supplier", json={"code": "SUP-LATE", "name": "x"}, headers=bearer(t))
                    assert r.status_code == 401 and why in r.json()["message"]["en"], r.text
                    r = app.post("/api/records/supplier", json={"code": "SUP-LATE", "name": "x"}, headers=bearer(t))
                    assert r.status_code == 401 and why in r.json()["message"]["en"], r.text   # and again, uncached
            assert count() == before
            other = mint(client, admin, scopes=["write"])
            for app in (client, worker2):
                assert app.post("/api/records/supplier", json={"code": f"SUP-O{id(app)}", "name": "x"},
                                headers=bearer(other)).status_code == 201
            with write_tx(engine) as conn:
                conn.execute(T.user.update().where(T.user.c.username == "admin").values(is_active=False))
            for app in (client, worker2):
                r = app.post("/api/records/supplier", json={"code": "SUP-OFF", "name": "x"}, headers=bearer(other))
                assert r.status_code == 401, r.text
            assert count() == before + 2
    finally:
        engine2.dispose()


def test_a_token_may_revoke_itself_but_not_others_without_tokens_write(client: TestClient, demo_forms: dict[str, str]) -> None:
    admin = demo_forms
    t1, t2 = mint(client, admin, scopes=["read"]), mint(client, admin, scopes=["read"])
    r = client.delete(f"/api/auth/tokens/{t2['id']}", headers=bearer(t1))
    assert r.status_code == 403 and r.json()["detail"]["missing_scope"] == "tokens:write"
    assert client.delete(f"/api/auth/tokens/{t1['id']}", headers=bearer(t1)).status_code == 200
    assert client.get("/api/records/supplier", headers=bearer(t1)).status_code == 401
    assert client.get("/api/records/supplier", headers=bearer(t2)).status_code == 200


def test_revoking_a_session_revokes_the_tokens_made_with_it(client: TestClient, demo_forms: dict[str, str]) -> None:
    """A stolen sign-in cannot leave a long-lived token behind once the session is revoked."""
    admin = demo_forms
    made = mint(client, admin, scopes=["read"])
    assert made["parent_id"] is not None
    assert client.delete(f"/api/auth/tokens/{made['parent_id']}", headers=admin).status_code == 200
    assert client.get("/api/records/supplier", headers=bearer(made)).status_code == 401
    assert client.get("/api/records/supplier", headers=admin).status_code == 401


def test_a_disabled_user_is_refused_at_once(client: TestClient, demo_forms: dict[str, str], engine: sa.engine.Engine) -> None:
    admin = demo_forms
    tok = mint(client, admin, scopes=["read"])
    assert client.get("/api/records/supplier", headers=bearer(tok)).status_code == 200
    with write_tx(engine) as conn:
        conn.execute(T.user.update().where(T.user.c.username == "admin").values(is_active=False))
    assert client.get("/api/records/supplier", headers=bearer(tok)).status_code == 401


def test_the_console_issues_scoped_expiring_tokens(cli: Any) -> None:
    out = cli("user", "add", "robot", "--password", "robot-pass-1", "--token", "line-3", "--scope", "records:breakdown:write",
                    "--token-days", "30")
    assert out.exit_code == 0, out.output
    assert "records:breakdown:write" in out.output and "expires" in out.output
    bad = cli("user", "add", "robot2", "--password", "robot-pass-1", "--token", "x", "--scope", "everything")
    assert bad.exit_code != 0 and "--scope/0" in bad.output


def test_a_new_password_ends_the_sessions_and_the_tokens_made_in_them(cli: Any, client: TestClient,
                                                                     demo_forms: dict[str, str]) -> None:
    admin = demo_forms
    made = mint(client, admin, scopes=["read"])
    assert cli("user", "passwd", "admin", "--password", "a-brand-new-secret-7").exit_code == 0
    assert client.get("/api/records/supplier", headers=admin).status_code == 401
    assert client.get("/api/records/supplier", headers=bearer(made)).status_code == 401
