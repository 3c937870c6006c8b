"""What the per-request token check costs record creates (issue 16 item 6).

Two servers of the platform, each on its own database, driven in interleaved rounds by the create
benchmark's load generator: as shipped (every request looks its token up in the database), and with
that lookup answered from memory after the first time (what a per-process cache without revocation
checks would cost). The ratio is the price of "a revoked token is refused at once on every worker".

    python bench/auth_bench.py [--db postgresql] [--clients 8] [--n 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forms_bench as fb  # noqa: E402


def app():  # type: ignore[no-untyped-def]
    """uvicorn factory: the platform; with MOM_BENCH_TOKEN_MEMO=1 its token lookup answered from memory."""
    from mom.platform.api.app import create_app
    from mom.platform.auth import tokens

    if os.environ.get("MOM_BENCH_TOKEN_MEMO"):
        orig, memo = tokens.TokenLookup.__call__, {}

        def call(self, token):  # type: ignore[no-untyped-def]
            if token not in memo:
                memo[token] = orig(self, token)
            return memo[token]

        async def check(self, token):  # type: ignore[no-untyped-def]
            return call(self, token)

        def in_transaction(self, conn, token):  # type: ignore[no-untyped-def]
            return call(self, token)

        tokens.TokenLookup.__call__, tokens.TokenLookup.check = call, check
        tokens.TokenLookup.in_transaction = in_transaction   # record creates read it in their transaction
    return create_app()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--n", type=int, default=1000, help="creates per round and side (6 rounds)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    procs = {}
    try:
        for side in ("checked", "memo"):
            url = fb.db_url(args.db, tmp, side)
            token = fb.setup_platform(url, tmp / side)
            port = fb.free_port()
            env = {"MOM_DATABASE_URL": url, "MOM_DATA_DIR": str(tmp / side)}
            if side == "memo":
                env["MOM_BENCH_TOKEN_MEMO"] = "1"
            cmd = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--host", "127.0.0.1", "--app-dir",
                   str(Path(__file__).resolve().parent), "--factory", "auth_bench:app", "--port", str(port)]
            procs[side] = (fb.start(cmd, env, port), f"http://127.0.0.1:{port}/api/records/bench_inspection",
                           {"Authorization": f"Bearer {token}"})
        for _p, url, head in procs.values():
            fb.drive_lean(url, 200, args.clients, head)
        spent = dict.fromkeys(procs, 0.0)
        for r in range(6):
            for side in (list(procs) if r % 2 == 0 else list(reversed(list(procs)))):
                _p, url, head = procs[side]
                spent[side] += args.n / fb.drive_lean(url, args.n, args.clients, head)
        rate = {side: round(6 * args.n / t) for side, t in spent.items()}
        print(json.dumps({"bench": "token check", "db": args.db, "clients": args.clients, "per_s": rate,
                          "ratio": round(rate["checked"] / rate["memo"], 2)}))
    finally:
        for p, *_ in procs.values():
            fb.stop(p)


if __name__ == "__main__":
    main()
