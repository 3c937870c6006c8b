"""A real `mom serve` process for the tests that need one (several workers, signals, proxy headers)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mom_serve(db_url: str, data_dir: Path, *args: str, env: dict[str, str] | None = None,
                    drop: tuple[str, ...] = (), timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start `mom serve --port <free> *args` on ``db_url`` in its own process group and wait until
    /api/health answers; returns the process (stderr piped) and its base URL. Stopping it is the
    caller's, since each test checks its own way of stopping."""
    mom = shutil.which("mom") or pytest.skip("the mom command is not installed")
    port = free_port()
    full = {**os.environ, "MOM_DATABASE_URL": db_url, "MOM_DATA_DIR": str(data_dir), **(env or {})}
    for name in drop:
        full.pop(name, None)
    proc = subprocess.Popen([mom, "serve", "--port", str(port), *args], env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            raise AssertionError(f"mom serve did not come up: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.2)
