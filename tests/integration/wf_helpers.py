"""Shared set-up for the workflow tests: the demo pack (users, roles, departments, NCR flow) on the
test database, plus helpers to sign in and act."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import login

PASSWORDS = {"admin": "admin123", "qc1": "qc1pass123", "qcm": "qcmpass123", "qe1": "qe1pass123", "pm": "pmpass123",
             "planner": "plannerpass123", "buyer": "buyerpass123", "qe2": "qe2pass123", "tech": "techpass123",
             "eqmgr": "eqmgrpass123"}


class Plant:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._h: dict[str, dict[str, str]] = {}

    def h(self, user: str) -> dict[str, str]:
        if user not in self._h:
            self._h[user] = login(self.client, user, PASSWORDS[user])
        return self._h[user]

    def ncr(self, user: str = "qc1", **over: Any) -> dict[str, Any]:
        body = {"title": "阀体砂眼", "material": "MAT-1001", "qty": 20, "cost": 3000, "owner": "buyer"} | over
        r = self.client.post("/api/records/ncr", json=body, headers=self.h(user))
        assert r.status_code == 201, r.text
        return r.json()

    def edit(self, url: str, values: dict[str, Any], user: str) -> Any:
        """PATCH ``url`` as the web app does: with the row_version just read (by an admin, who sees every record)."""
        version = self.client.get(url, headers=self.h("admin")).json()["row_version"]
        return self.client.patch(url, json={**values, "row_version": version}, headers=self.h(user))

    def start(self, record_id: int, user: str = "qc1", flow: str = "ncr_review") -> dict[str, Any]:
        r = self.client.post(f"/api/workflows/{flow}/start", json={"record_id": record_id}, headers=self.h(user))
        assert r.status_code == 201, r.text
        return r.json()

    def todo(self, user: str) -> list[dict[str, Any]]:
        r = self.client.get("/api/tasks", headers=self.h(user))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def act(self, user: str, task_id: int, action: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        r = self.client.post(f"/api/tasks/{task_id}/{action}", json=body, headers=self.h(user))
        assert r.status_code == expect, r.text
        return r.json()

    def task_of(self, user: str, instance_id: int) -> dict[str, Any]:
        mine = [t for t in self.todo(user) if t["instance_id"] == instance_id]
        assert len(mine) == 1, mine
        return mine[0]

    def instance(self, instance_id: int, user: str = "admin") -> dict[str, Any]:
        r = self.client.get(f"/api/workflow-instances/{instance_id}", headers=self.h(user))
        assert r.status_code == 200, r.text
        return r.json()

    def put_flow(self, definition: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        r = self.client.put(f"/api/workflows/{definition['name']}", json=definition, headers=self.h("admin"))
        assert r.status_code == expect, r.text
        return r.json()


class Sink:
    """An SMTP sink (aiosmtpd handler) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope)
        return "250 OK"
