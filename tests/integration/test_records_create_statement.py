"""One new record on PostgreSQL is one statement: its auto-number, the INSERT, its "create" audit entry
and the display texts of its references (engines/records/service.insert_rows). What a user sees stays
what the separate statements gave (and what SQLite still does step by step): numbers continue past
the pattern's width and are never cut, two numbers in one record each take their own sequence, the
answer's names are the ones a read of the record shows under the writer's own rights, and the audit
entry holds the number given. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.platform.db.engine import write_tx

NOTE = {
    "format": "mom.form/1", "name": "numbered_note", "label": {"zh-CN": "编号备注", "en": "Numbered note"},
    "display_field": "no",
    "fields": [
        {"id": "a", "key": "no", "type": "autonumber", "pattern": "N{seq:2}", "label": {"zh-CN": "编号", "en": "No."}},
        {"id": "b", "key": "inspection", "type": "reference", "form": "iqc_inspection", "display_field": "lot_no",
         "label": {"zh-CN": "检验单", "en": "Inspection"}},
        {"id": "c", "key": "checker", "type": "user", "label": {"zh-CN": "复核人", "en": "Checker"}},
        {"id": "d", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"]}],
}
TWO = {
    "format": "mom.form/1", "name": "two_numbers", "label": {"zh-CN": "双编号", "en": "Two numbers"},
    "fields": [
        {"id": "a", "key": "first", "type": "autonumber", "pattern": "A-{seq:3}", "label": {"zh-CN": "甲号", "en": "First"}},
        {"id": "b", "key": "second", "type": "autonumber", "pattern": "B{yyyy}-{seq:4}", "label": {"zh-CN": "乙号", "en": "Second"}},
        {"id": "c", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read"]}],
}


def _publish(plant: Any, definition: dict[str, Any]) -> None:
    r = plant.client.put(f"/api/forms/{definition['name']}", json=definition, headers=plant.h("admin"))
    assert r.status_code == 200, r.text


def _create(plant: Any, form: str, body: dict[str, Any], who: str = "admin") -> dict[str, Any]:
    r = plant.client.post(f"/api/records/{form}", json=body, headers=plant.h(who))
    assert r.status_code == 201, r.text
    return r.json()


def test_numbers_continue_past_their_width_and_the_audit_holds_them(plant: Any, engine: sa.engine.Engine) -> None:
    _publish(plant, NOTE)
    assert _create(plant, "numbered_note", {"title": "一"})["no"] == "N01"
    assert _create(plant, "numbered_note", {"title": "二"})["no"] == "N02"
    with write_tx(engine) as conn:      # the sequence at the last two-digit number
        conn.execute(sa.text("UPDATE mom_sequence SET value = 99 WHERE name = 'numbered_note.a'"))
    hundredth = _create(plant, "numbered_note", {"title": "百"})
    assert hundredth["no"] == "N100"                 # zero-filled to the width, never cut to it
    assert _create(plant, "numbered_note", {"title": "百零一"})["no"] == "N101"
    assert _create(plant, "numbered_note", {"no": "MANUAL-1", "title": "手填"})["no"] == "MANUAL-1"
    assert _create(plant, "numbered_note", {"title": "再一"})["no"] == "N102"   # a number given takes none
    trail = plant.client.get(f"/api/records/numbered_note/{hundredth['id']}/audit", headers=plant.h("admin")).json()
    created = [e for e in trail if e["action"] == "create"]
    assert len(created) == 1 and created[0]["changes"]["no"] == "N100" and created[0]["changes"]["title"] == "百"


def test_two_numbers_in_one_record_each_take_their_own_sequence(plant: Any) -> None:
    _publish(plant, TWO)
    one = _create(plant, "two_numbers", {"title": "一"})
    two = _create(plant, "two_numbers", {"title": "二"})
    assert (one["first"], two["first"]) == ("A-001", "A-002")
    assert one["second"].startswith("B2") and one["second"].endswith("-0001") and two["second"].endswith("-0002")


def test_the_answer_names_references_as_a_read_shows_them(plant: Any) -> None:
    """The names in a create's answer are those GET shows the same writer: an inspection by its lot
    number, a user by their name; a reference left empty shows nothing."""
    _publish(plant, NOTE)
    mine = plant.client.get("/api/records/iqc_inspection?limit=1&sort=id", headers=plant.h("qc1")).json()["items"][0]
    me = plant.client.get("/api/auth/me", headers=plant.h("qc1")).json()
    for who, body in (("qc1", {"inspection": mine["id"], "checker": me["id"], "title": "有引用"}),
                      ("admin", {"inspection": mine["id"], "title": "只有检验单"}),
                      ("qc1", {"title": "无引用"})):
        made = _create(plant, "numbered_note", body, who=who)
        read = plant.client.get(f"/api/records/numbered_note/{made['id']}", headers=plant.h(who)).json()
        assert made.get("_display", {}) == read.get("_display", {}), who
        assert {k: made[k] for k in ("no", "inspection", "checker", "title")} == \
               {k: read[k] for k in ("no", "inspection", "checker", "title")}
    shown = _create(plant, "numbered_note", {"inspection": mine["id"], "checker": me["id"]}, who="qc1")["_display"]
    assert shown == {"inspection": mine["lot_no"], "checker": me["display_name"]}
