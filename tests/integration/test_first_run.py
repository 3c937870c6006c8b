"""The README's first command on a fresh data folder: `mom demo --serve` loads the demo and the server
comes up — the web app at /, the API with the demo's forms, the API docs — and stops on SIGTERM.

The command is read from the README itself, so the test runs what a new user types."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.served import free_port

ROOT = Path(__file__).resolve().parents[2]


def readme_command_1() -> list[str]:
    """The entry point of command 1: the part after the install step (`… && mom demo --serve`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no bash block with the two commands"
    lines = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    first = lines[0]
    assert "pip install" in first, f"command 1 should install the platform first: {first}"
    return shlex.split(first.split("&&")[-1])


@pytest.mark.slow
def test_readme_command_1_serves_the_demo(tmp_path: Path) -> None:
    argv = readme_command_1()
    assert argv[:2] == ["mom", "demo"], argv
    mom = shutil.which("mom") or pytest.skip("the mom command is not installed")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOM_")}
    env.update({"MOM_DATA_DIR": str(tmp_path / "data"), "MOM_PORT": str(port)})   # a fresh SQLite database
    proc = subprocess.Popen([mom, *argv[1:]], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"the server exited ({proc.returncode}):\n{proc.stdout.read().decode(errors='replace')}"
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not come up in 120 s"
            time.sleep(0.3)
        assert (tmp_path / "data" / "mom.sqlite3").exists()
        home = httpx.get(base + "/", timeout=10)
        assert home.status_code == 200 and "<div id=\"app\"" in home.text
        token = httpx.post(base + "/api/auth/token", data={"username": "admin", "password": "admin123"}, timeout=10)
        assert token.status_code == 200, token.text
        forms = httpx.get(base + "/api/forms", headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                          timeout=10)
        assert forms.status_code == 200
        names = {f["name"] for f in forms.json()}
        assert {"supplier", "item", "production_order", "iqc_inspection"} <= names, names     # core + demo
        docs = httpx.get(base + "/docs", timeout=10)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the server did not stop within 30 s of SIGTERM")
