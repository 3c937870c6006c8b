"""Plug-ins end to end: a throw-away delivery channel registered on a fresh plug-in manager is used
by the worker against a local HTTP receiver, and a pack's own hooks.py adds a pack step."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms import fieldtypes
from mom.engines.packs import loader
from mom.platform import outbox
from mom.platform.composition import form_registry
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.delivery import DeliveryChannel, DeliveryContext
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager
from mom.platform.worker import Worker


class Receiver(BaseHTTPRequestHandler):
    got: list[dict[str, Any]] = []

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.got.append({"path": self.path, "body": json.loads(body), "delivery": self.headers.get("X-Delivery")})
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.got = []
    http = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    http.server_close()


class SinkPlugin:
    """A plug-in of one delivery channel, ``sink``, that POSTs the payload to a URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _send(self, ctx: DeliveryContext, payload: Mapping[str, Any], delivery_id: int) -> None:
        import urllib.request

        req = urllib.request.Request(f"{self.url}/sink", data=json.dumps(dict(payload)).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Delivery": str(delivery_id)})
        with urllib.request.urlopen(req, timeout=10):
            pass

    @hookimpl
    def mom_delivery_channels(self) -> list[DeliveryChannel]:
        return [DeliveryChannel("sink", {"zh-CN": "测试接收端", "en": "Test sink"}, self._send)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_plugin_channel_is_used_by_the_worker(engine: sa.engine.Engine, settings: Any, receiver: str) -> None:
    pm = new_manager(entry_points=False)
    pm.register(SinkPlugin(receiver), name="sink")
    with write_tx(engine) as conn:
        eid = outbox.emit(conn, "deliver.sink", {"text": "来料到货 / goods received"}, now=_now())
    got = Worker(engine, settings, plugins=pm, name="w1").drain()
    assert got["events"] == 1 and got["failed"] == 0
    assert Receiver.got == [{"path": "/sink", "body": {"text": "来料到货 / goods received"}, "delivery": str(eid)}]
    with engine.connect() as conn:
        assert conn.execute(sa.select(T.outbox.c.status).where(T.outbox.c.id == eid)).scalar() == "done"


def test_a_channel_nobody_registered_is_a_clear_error(engine: sa.engine.Engine, settings: Any) -> None:
    with write_tx(engine) as conn:
        eid = outbox.emit(conn, "deliver.sink", {"text": "x"}, now=_now())
    got = Worker(engine, settings.model_copy(update={"worker_max_attempts": 1}), name="w2").drain()
    assert got["failed"] == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(T.outbox.c.status, T.outbox.c.last_error).where(T.outbox.c.id == eid)).one()
    assert row.status == "dead"
    assert "没有名为 sink 的投递渠道" in row.last_error and "no delivery channel named sink" in row.last_error
    assert "webhook" in row.last_error      # names the channels that exist


HOOKS_PY = '''
from mom.engines.packs.steps import PackStep
from mom.platform.hookspecs import hookimpl


def _note(ctx, file, raw):
    return f"note {raw['name']} ({file})"


@hookimpl
def mom_pack_steps():
    return [PackStep("notes", "notes", 700, _note)]
'''


def test_a_packs_hooks_py_adds_a_step(engine: sa.engine.Engine, tmp_path: Path) -> None:
    pack = tmp_path / "notes_pack"
    (pack / "notes").mkdir(parents=True)
    (pack / "pack.json").write_text(json.dumps({"format": "mom.pack/1", "name": "notes_pack", "version": "1.0.0"}))
    (pack / "notes" / "hello.json").write_text(json.dumps({"name": "hello"}))
    (pack / "hooks.py").write_text(HOOKS_PY)
    pm = new_manager(entry_points=False)
    bundle = loader.load(pack, pm=pm)
    assert pm.get_plugin("pack:notes_pack") is not None
    assert bundle.items["notes"] == [("notes/hello.json", {"name": "hello"})]
    with write_tx(engine) as conn:
        lines = loader.apply(conn, bundle) + loader.apply_automation(conn, bundle, form_registry(pm=pm), now=_now(),
                                                                     tz=fieldtypes.plant_tz("Asia/Shanghai"))
    assert lines == ["note hello (notes/hello.json)"]
    with engine.connect() as conn:     # the core's menu step ran too: the pack is recorded
        assert conn.execute(sa.select(T.pack.c.version).where(T.pack.c.name == "notes_pack")).scalar() == "1.0.0"
