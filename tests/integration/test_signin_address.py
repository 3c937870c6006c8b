"""Which address sign-in throttling counts (issue 16 review, item 1): X-Forwarded-For is believed only
from MOM_TRUSTED_PROXIES (default none), the right-most untrusted entry of a chain counts, and a shared
address is only slowed down for a short while, never locked for everyone behind it."""
from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from mom.platform.api.client_address import pick, trusted_networks
from mom.platform.auth import service as auth
from mom.platform.auth import throttle
from mom.platform.db.engine import write_tx
from mom.platform.settings import Settings
from tests.integration.served import start_mom_serve


def test_the_right_most_untrusted_address_of_a_chain_counts() -> None:
    local = trusted_networks("127.0.0.1")
    both = trusted_networks("127.0.0.1, 10.0.0.0/8")
    assert pick("127.0.0.1", ["10.9.9.9"], trusted_networks("")) == "127.0.0.1"       # nothing trusted: the peer
    assert pick("203.0.113.5", ["10.9.9.9"], local) == "203.0.113.5"                   # not from the proxy: the peer
    assert pick("127.0.0.1", ["10.9.9.9"], local) == "10.9.9.9"
    # the client wrote "10.9.9.9, 127.0.0.1" itself, nginx appended what it saw
    assert pick("127.0.0.1", ["10.9.9.9, 127.0.0.1, 198.51.100.7"], local) == "198.51.100.7"
    assert pick("127.0.0.1", ["10.9.9.9, 127.0.0.1"], local) == "10.9.9.9"             # 127.0.0.1 is the proxy itself
    assert pick("127.0.0.1", ["1.1.1.1, 198.51.100.7, 10.1.2.3"], both) == "198.51.100.7"   # two proxies
    assert pick("127.0.0.1", ["1.1.1.1", "198.51.100.7:5123"], local) == "198.51.100.7"    # two header lines, a port
    assert pick("127.0.0.1", ["[2001:db8::1]:443"], local) == "2001:db8::1"
    assert pick("127.0.0.1", ["10.1.1.1, 10.2.2.2"], both) == "10.1.1.1"               # all proxies: the left-most
    assert pick("127.0.0.1", [], local) == "127.0.0.1"
    assert pick("127.0.0.1", ["not-an-ip, 127.0.0.1"], local) == "not-an-ip"
    with pytest.raises(ValueError, match="nginx"):
        trusted_networks("127.0.0.1, nginx")


def test_one_client_cannot_keep_a_shared_address_locked(engine: sa.engine.Engine, settings: Settings) -> None:
    """A failure every 5 minutes from a NAT address for hours: the address is never locked, and a user
    whose own count is clean waits at most MOM_LOGIN_ADDRESS_BACKOFF_MAX_SECONDS with the right password."""
    s = settings.model_copy(update={"login_address_max_failures": 20})
    t0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.timezone.utc)
    nat = "192.0.2.10"
    with write_tx(engine) as conn:
        for i in range(20):   # a burst reaches the address back-off
            ch = throttle.charge(conn, f"burst{i}", nat, t0 + dt.timedelta(seconds=i), s)
            assert isinstance(ch, throttle.Charge)
    at = t0 + dt.timedelta(seconds=20)
    for i in range(60):   # then one failure every 5 minutes, 5 hours long
        at += dt.timedelta(minutes=5)
        with write_tx(engine) as conn:
            ch = throttle.charge(conn, f"slow{i}", nat, at, s)
        assert isinstance(ch, throttle.Charge) and not ch.starts_lock()
        b = ch.block()
        assert b is not None and not b.locked and b.retry_after(at) <= s.login_address_backoff_max_seconds
        with write_tx(engine) as conn:   # the victim, a moment later: blocked for at most the short back-off
            b = throttle.check(conn, "qc1", nat, at + dt.timedelta(seconds=1))
            assert b is not None and b.retry_after(at + dt.timedelta(seconds=1)) <= 30
            assert throttle.check(conn, "qc1", nat, at + dt.timedelta(seconds=31)) is None
    assert s.login_address_lock_failures == 0


@pytest.mark.slow
def test_served_sign_in_ignores_x_forwarded_for_by_default(db_url: str, engine: sa.engine.Engine, tmp_path: Path) -> None:
    """The reviewer's reproduction against `mom serve`: rotating X-Forwarded-For no longer gives every
    guess a fresh address — the address limit answers 429 — and a spoofed 10.9.9.9 is never counted."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password="admin-pass-1", is_admin=True)
    proc, base = start_mom_serve(db_url, tmp_path / "data", drop=("MOM_TRUSTED_PROXIES",), env={
        "MOM_LOGIN_ADDRESS_MAX_FAILURES": "5", "MOM_LOGIN_BACKOFF_SECONDS": "60", "MOM_WORKER_IN_SERVE": "false"})
    try:
        tok = httpx.post(f"{base}/api/auth/token", data={"username": "admin", "password": "admin-pass-1"}).json()["access_token"]
        codes = [httpx.post(f"{base}/api/auth/token", data={"username": f"user{i}", "password": "nope"},
                            headers={"X-Forwarded-For": f"10.0.{i}.{i}"}).status_code for i in range(8)]
        assert codes == [401] * 4 + [429] * 4, codes
        locks = httpx.get(f"{base}/api/admin/login-locks", headers={"Authorization": f"Bearer {tok}"}).json()["items"]
        addresses = {i["key"] for i in locks if i["kind"] == "address"}
        assert addresses == {"127.0.0.1"}, addresses   # no 10.x address was ever counted
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
