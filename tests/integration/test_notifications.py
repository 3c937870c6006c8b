"""Notification channels against local fakes: an SMTP sink, DingTalk and WeCom robots that check
the signature / key, and a webhook receiver that checks the HMAC."""
from __future__ import annotations

import base64
import hashlib
import hmac
import email
import email.policy
import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from mom.connectors.messaging.robots import webhook_signature
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant, Sink

DING_SECRET = "SECtest-secret-0123456789"
HOOK_SECRET = "hook-secret"


class Fakes(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        ok = True
        if url.path == "/robot/send":        # DingTalk: timestamp + sign, within an hour
            ts = q.get("timestamp", "0")
            want = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()).decode()
            ok = q.get("sign") == want and abs(time.time() * 1000 - int(ts)) < 3600_000 and q.get("access_token") == "tok"
        elif url.path == "/cgi-bin/webhook/send":
            ok = q.get("key") == "wecom-key"
        elif url.path == "/hook":
            sig = webhook_signature(HOOK_SECRET, self.headers["X-Mom-Timestamp"], body)
            ok = hmac.compare_digest(sig, self.headers.get("X-Mom-Signature", ""))
        Fakes.received.append({"path": url.path, "ok": ok, "body": json.loads(body), "headers": dict(self.headers)})
        answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_email_dingtalk_wecom_and_webhook(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    http = HTTPServer(("127.0.0.1", 0), Fakes)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_port}"
    Fakes.received = []
    try:
        with write_tx(engine) as conn:
            conn.execute(T.user.update().where(T.user.c.username == "planner").values(email="planner@plant.example"))
        rule = {"format": "mom.rule/1", "name": "line_down", "on": {"event": "record.created", "form": "breakdown"},
                "actions": [{"type": "notify", "to": [{"type": "role", "roles": ["planner"]}],
                             "channels": ["inbox", "email", "dingtalk", "wecom"],
                             "title": "设备 {{ machine }} 停机", "body": "现象：{{ symptom }}"},
                            {"type": "webhook", "url": f"{base}/hook", "secret": HOOK_SECRET}]}
        assert plant.client.put("/api/rules/line_down", json=rule, headers=plant.h("admin")).status_code == 200
        plant.client.post("/api/records/breakdown", json={"machine": "CNC-9", "symptom": "漏油"}, headers=plant.h("qe1"))
        s = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                                        "dingtalk_webhook": f"{base}/robot/send?access_token=tok", "dingtalk_secret": DING_SECRET,
                                        "wecom_webhook": f"{base}/cgi-bin/webhook/send?key=wecom-key"})
        got = Worker(engine, s, name="n").drain()
        assert got["failed"] == 0, plant.client.get("/api/outbox", params={"status": "pending"}, headers=plant.h("admin")).json()
        assert [m.rcpt_tos for m in sink.messages] == [["planner@plant.example"]]
        mail = email.message_from_bytes(sink.messages[0].content, policy=email.policy.default)
        assert mail["Subject"] == "设备 CNC-9 停机" and "漏油" in mail.get_content()
        by_path = {r["path"]: r for r in Fakes.received}
        assert all(r["ok"] for r in Fakes.received) and set(by_path) == {"/robot/send", "/cgi-bin/webhook/send", "/hook"}
        assert "CNC-9" in by_path["/robot/send"]["body"]["markdown"]["title"]
        assert "漏油" in by_path["/cgi-bin/webhook/send"]["body"]["markdown"]["content"]
        assert by_path["/hook"]["body"]["machine"] == "CNC-9" and by_path["/hook"]["headers"]["X-Mom-Delivery"]
        # a robot that refuses (wrong secret) is retried, then dead-lettered, not silently dropped
        Fakes.received = []
        bad = s.model_copy(update={"dingtalk_secret": "SECwrong", "worker_max_attempts": 1})
        plant.client.post("/api/records/breakdown", json={"machine": "CNC-1", "symptom": "x"}, headers=plant.h("qe1"))
        Worker(engine, bad, name="n2").drain()
        dead = plant.client.get("/api/outbox", headers=plant.h("admin")).json()["items"]
        assert [d["topic"] for d in dead] == ["deliver.dingtalk"] and "310000" in dead[0]["last_error"]
    finally:
        smtp.stop()
        http.shutdown()
