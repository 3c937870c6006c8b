"""Forms only an engine writes (库存流水 stock_move, 设备状态 machine_state, 判异报警 spc_alarm …) are offered to nobody
for 新建 / 导入, administrators included: the engines' record hooks say which actions they keep
(``RecordHooks.engine_only``) and the form API leaves them out of ``actions`` (and names them in ``engine_only``), so
the list shows no 新建 / 导入 button that could only end in a refusal. The refusal itself stays: an administrator
posting or importing a stock move by hand is refused and nothing is written."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import login


def _form(client: Any, h: dict[str, str], name: str) -> dict[str, Any]:
    r = client.get(f"/api/forms/{name}", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_engine_only_forms_offer_no_new_nor_import_even_to_an_administrator(plant, engine, client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin", "admin123")
    move = _form(client, admin, "stock_move")
    assert move["engine_only"] == ["create", "delete", "import", "update"]
    assert set(move["actions"]) == {"read", "export", "design"}
    for name in ("machine_state", "device_alarm", "spc_alarm", "quality_state"):   # a person still classifies / acknowledges
        got = _form(client, admin, name)
        assert got["engine_only"] == ["create", "delete", "import"], (name, got["engine_only"])
        assert "update" in got["actions"] and not {"create", "import", "delete"} & set(got["actions"]), name
    for name in ("machine_count", "process_value", "stock_balance"):
        assert "update" in _form(client, admin, name)["engine_only"], name
    # forms people write keep every action
    for name in ("item", "stock_receipt", "maintenance_order", "inspection_lot"):
        got = _form(client, admin, name)
        assert got["engine_only"] == [] and {"create", "import", "update", "delete"} <= set(got["actions"]), name

    # the form list and the menu say the same (the home page's 新建 tiles read the menu)
    listed = {f["name"]: f["actions"] for f in client.get("/api/forms", headers=admin).json()}
    assert "create" not in listed["stock_move"] and "create" in listed["item"]
    menu = {f["name"]: f["actions"] for app in client.get("/api/apps", headers=admin).json() for f in app["forms"]}
    assert "create" not in menu.get("stock_move", ["read"]) and "create" in menu["item"]

    # pressing it anyway (an old tab, a script) is still refused, nothing written
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM stock_move")).scalar_one()
    item = client.get("/api/records/item?limit=1", headers=admin).json()["items"][0]["id"]
    loc = client.get("/api/records/location?limit=1", headers=admin).json()["items"][0]["id"]
    r = client.post("/api/records/stock_move", json={"item": item, "location": loc, "qty": 5}, headers=admin)
    assert r.status_code == 409 and "库存流水只能由库存单据过账写入" in r.json()["message"]["zh-CN"], r.text
    r = client.post("/api/records/stock_move/import", headers=admin, files={"file": ("m.csv", "item,qty\nFG-V50,5\n".encode())})
    assert r.status_code in (409, 422), r.text
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stock_move")).scalar_one() == before
