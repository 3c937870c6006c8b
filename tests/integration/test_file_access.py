"""Files follow the permissions of what they belong to (issue 16, item 3): a record's attachment is read
under the record's row scope and field rights, a workflow comment's file under the instance's
timeline rule, a delivered report file by its recipients; a fresh upload by its uploader alone.
Public ids are random; a file one may not read answers exactly like a missing one."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command

from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.db.migrate import alembic_config
from tests.conftest import sample_form
from tests.integration.wf_helpers import Plant


def _with_files(plant: Plant) -> None:
    """The demo's IQC form with photos (all readers), a certificate hidden from inspectors, and a
    photo per reading row."""
    form = sample_form("iqc_inspection")
    form["fields"].insert(-1, {"id": "fa1", "key": "photos", "type": "attachment", "label": {"zh-CN": "照片", "en": "Photos"}})
    form["fields"].insert(-1, {"id": "fa2", "key": "cert", "type": "attachment", "label": {"zh-CN": "质保书", "en": "Certificate"}})
    next(f for f in form["fields"] if f["key"] == "readings")["fields"].append(
        {"id": "fa3", "key": "photo", "type": "attachment", "label": {"zh-CN": "读数照片", "en": "Reading photo"}})
    next(p for p in form["permissions"] if p["role"] == "qc_inspector")["fields"]["cert"] = "hidden"
    r = plant.client.put("/api/forms/iqc_inspection", json=form, headers=plant.h("admin"))
    assert r.status_code == 200, r.text


def _upload(plant: Plant, user: str, content: bytes = b"%PDF-1.4 certificate", name: str = "cert.pdf") -> str:
    r = plant.client.post("/api/attachments", files={"file": (name, content, "application/pdf")}, headers=plant.h(user))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _inspection(plant: Plant, user: str, expect: int = 201, **values: Any) -> Any:
    c, admin = plant.client, plant.h("admin")
    sup = c.get("/api/records/supplier", params={"code": "SUP-001"}, headers=admin).json()["items"][0]["id"]
    mat = c.get("/api/records/item", params={"code": "MAT-1001"}, headers=admin).json()["items"][0]["id"]
    body = {"supplier": sup, "material": mat, "lot_no": f"FA-{user}", "qty": 10, "result": "pass"} | values
    r = c.post("/api/records/iqc_inspection", json=body, headers=plant.h(user))
    assert r.status_code == expect, r.text
    return r.json()


def _edit(plant: Plant, url: str, values: dict[str, Any], user: str) -> Any:
    version = plant.client.get(url, headers=plant.h("admin")).json()["row_version"]
    return plant.client.patch(url, json={**values, "row_version": version}, headers=plant.h(user))


def _get(plant: Plant, token: str, user: str) -> Any:
    return plant.client.get(f"/api/attachments/{token}", headers=plant.h(user))


def _hidden(r: Any) -> None:
    """A file (or print) one may not read is refused in words (issue 20: 无权限, not 不存在)."""
    assert r.status_code == 403 and r.json()["code"] == "access_denied", r.text
    assert r.json()["message"]["zh-CN"].startswith("无权限"), r.text


def test_qc1_cannot_download_a_file_of_qcm_record_out_of_scope(plant: Plant) -> None:
    """The reproduction: qcm (QC) attaches a file to a record in the QC department; qc1 (QC-IQC,
    department scope) may not read that record, so not its files either, in a field or a child row."""
    _with_files(plant)
    photo, row_photo = _upload(plant, "qcm", b"photo of a cracked casting"), _upload(plant, "qcm", b"reading 7")
    rec = _inspection(plant, "qcm", photos=[photo], readings=[{"characteristic": "壁厚", "value": 7, "photo": [row_photo]}])
    assert rec["photos"] == [photo] and rec["readings"][0]["photo"] == [row_photo]
    assert _get(plant, photo, "qcm").content == b"photo of a cracked casting"
    assert _get(plant, row_photo, "admin").content == b"reading 7"
    assert plant.client.get(f"/api/records/iqc_inspection/{rec['id']}", headers=plant.h("qc1")).status_code == 403
    _hidden(_get(plant, photo, "qc1"))
    _hidden(_get(plant, row_photo, "qc1"))
    missing = _get(plant, "A" * 32, "qc1")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"      # no such file: not there
    assert set(missing.json()) == set(_get(plant, photo, "qc1").json())


def test_file_ids_are_random_and_integers_open_nothing(plant: Plant) -> None:
    same = [_upload(plant, "qcm", b"same bytes") for _ in range(2)]
    assert same[0] != same[1] and all(len(t) >= 32 and not t.isdigit() for t in same)
    with read_tx(plant.client.app.state.engine) as conn:
        keys = [r.id for r in conn.execute(sa.select(T.attachment.c.id))]
    for key in [*keys, 0, 2**63 - 1, "-" * 32, "not a file id"]:
        r = _get(plant, str(key), "admin")                       # integer keys are internal, even for an administrator
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
    assert _get(plant, same[0], "admin").status_code == 200


def test_a_fresh_upload_is_private_until_saved(plant: Plant) -> None:
    _with_files(plant)
    token = _upload(plant, "qc1", b"not saved yet")
    assert _get(plant, token, "qc1").content == b"not saved yet"
    _hidden(_get(plant, token, "qe1"))
    assert _get(plant, token, "admin").status_code == 200
    rec = _inspection(plant, "qc1", photos=[token])              # saved: governed by the record (QC-IQC)
    assert rec["photos"] == [token]
    assert _get(plant, token, "qcm").content == b"not saved yet"   # qcm reads every inspection
    _hidden(_get(plant, token, "qe1"))                            # qe1 may not read inspections at all


def test_a_record_may_not_take_another_users_file(plant: Plant) -> None:
    _with_files(plant)
    unsaved = _upload(plant, "qcm", b"qcm's draft")
    r = _inspection(plant, "qc1", expect=422, photos=[unsaved])
    problem = r["problems"][0]
    assert problem["path"] == "/photos/0" and problem["code"] == "not_yours"
    assert "自己上传" in problem["message"]["zh-CN"] and "upload the file yourself" in problem["message"]["en"]
    saved = _upload(plant, "qcm", b"qcm's saved file")
    _inspection(plant, "qcm", photos=[saved])                      # out of qc1's scope
    r = _inspection(plant, "qc1", expect=422, readings=[{"characteristic": "c", "value": 1, "photo": [saved]}])
    assert r["problems"][0]["path"] == "/readings/0/photo/0" and r["problems"][0]["code"] == "not_yours"
    _hidden(_get(plant, saved, "qc1"))
    with read_tx(plant.client.app.state.engine) as conn:          # nothing was written by the refused saves
        assert conn.execute(sa.select(sa.func.count()).select_from(T.attachment_link)).scalar() == 1
    # a file in a record qc1 may read can be used again, and then belongs to both records
    mine = _upload(plant, "qc1", b"shared photo")
    first = _inspection(plant, "qc1", photos=[mine])
    second = _inspection(plant, "qcm", lot_no="FA-qcm-2", photos=[mine])
    assert first["photos"] == second["photos"] == [mine]


def test_a_hidden_attachment_field_hides_its_file(plant: Plant) -> None:
    _with_files(plant)
    photo = _upload(plant, "qc1", b"visible photo")
    rec = _inspection(plant, "qc1", photos=[photo])
    cert = _upload(plant, "qcm", b"%PDF cost sheet")
    url = f"/api/records/iqc_inspection/{rec['id']}"
    r = _edit(plant, url, {"cert": [cert]}, "qcm")
    assert r.status_code == 200 and r.json()["cert"] == [cert], r.text
    seen = plant.client.get(url, headers=plant.h("qc1")).json()
    assert "cert" not in seen and seen["photos"] == [photo]
    assert _get(plant, photo, "qc1").status_code == 200
    _hidden(_get(plant, cert, "qc1"))
    assert _get(plant, cert, "qcm").status_code == 200
    # the name and size a file chip shows follow the same check as the download
    meta = plant.client.get(f"/api/attachments/{photo}/meta", headers=plant.h("qc1"))
    assert meta.status_code == 200 and meta.json() == {"id": photo, "filename": "cert.pdf", "size": 13,
                                                        "content_type": "application/pdf"}, meta.text
    _hidden(plant.client.get(f"/api/attachments/{cert}/meta", headers=plant.h("qc1")))
    assert plant.client.get(f"/api/attachments/{cert}/meta", headers=plant.h("qcm")).json()["filename"] == "cert.pdf"
    # removed from the record: the file is no longer governed by it (only its uploader and admins read it)
    assert _edit(plant, url, {"cert": []}, "qcm").status_code == 200
    assert _get(plant, cert, "qcm").status_code == 200
    _hidden(_get(plant, cert, "qc1"))


def test_a_workflow_comment_file_follows_the_timeline(plant: Plant) -> None:
    form = sample_form("ncr")            # NCRs readable only by their creator (plus managers)
    next(p for p in form["permissions"] if p["role"] == "*")["scope"] = "own"
    assert plant.client.put("/api/forms/ncr", json=form, headers=plant.h("admin")).status_code == 200
    ncr = plant.ncr("qc1")
    inst = plant.start(ncr["id"], "qc1")
    task = plant.task_of("qe1", inst["id"])
    token = _upload(plant, "qe1", b"photo of the defect")
    refused = plant.client.post(f"/api/tasks/{task['id']}/comment", json={"comment": "x", "attachments": [_upload(plant, "pm", b"pm")]},
                                headers=plant.h("qe1"))
    assert refused.status_code == 422 and refused.json()["problems"][0]["path"] == "/attachments"
    done = plant.act("qe1", task["id"], "comment", comment="见照片", attachments=[token])
    assert done is not None
    timeline = plant.instance(inst["id"], "qc1")["timeline"]
    assert any((e.get("data") or {}).get("attachments") == [token] for e in timeline), timeline
    assert _get(plant, token, "qc1").content == b"photo of the defect"     # the initiator sees the timeline
    assert _get(plant, token, "qe1").status_code == 200                     # the assignee too
    _hidden(_get(plant, token, "planner"))                                  # neither involved nor a reader of the NCR


def _deliver(engine: Any, settings: Any) -> dict[str, Any]:
    """The demo's weekly IQC report fired once (as the worker does), delivered to the QC managers."""
    from mom.engines.reports import delivery
    from mom.platform.composition import form_registry as registry
    due = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.timezone.utc)
    with write_tx(engine) as conn:
        return delivery.deliver(conn, registry(), settings,
                                {"report": "iqc_by_supplier", "schedule": "weekly", "due_at": due.isoformat()},
                                now=due, tz=ZoneInfo("Asia/Shanghai"))


def test_a_delivered_report_file_is_read_by_its_recipients(plant: Plant, settings: Any) -> None:
    engine = plant.client.app.state.engine
    out = _deliver(engine, settings)
    with read_tx(engine) as conn:
        link = conn.execute(sa.select(T.notification.c.link).where(T.notification.c.kind == "report")).scalar()
    assert link == f"/api/attachments/{out['attachment']}" and not out["attachment"].isdigit()
    got = plant.client.get(link, headers=plant.h("qcm"))                     # qc_manager: the schedule's recipients
    assert got.status_code == 200 and got.content[:2] == b"PK"
    _hidden(plant.client.get(link, headers=plant.h("qc1")))                 # not sent to qc1 (made with the system's rights)
    assert plant.client.get(link, headers=plant.h("admin")).status_code == 200
    runs = plant.client.get("/api/report-runs", headers=plant.h("admin")).json()
    assert runs[0]["file"] == out["attachment"] and "attachment_id" not in runs[0]


def test_exports_and_prints_are_made_for_the_caller_and_not_stored(plant: Plant) -> None:
    """Exports and print PDFs are built per request under the caller's rights and never kept as files,
    so there is nothing to fetch later by id."""
    c = plant.client
    with read_tx(c.app.state.engine) as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(T.attachment)).scalar()
    assert c.get("/api/records/iqc_inspection/export", params={"format": "csv"}, headers=plant.h("qc1")).status_code == 200
    assert c.get("/api/reports/iqc_by_supplier/data", params={"format": "xlsx"}, headers=plant.h("qcm")).status_code == 200
    rid = _inspection(plant, "qcm")["id"]                         # QC department: out of qc1's scope
    assert c.get("/api/print/iqc_report", params={"record_id": rid}, headers=plant.h("qcm")).status_code == 200
    _hidden(c.get("/api/print/iqc_report", params={"record_id": rid}, headers=plant.h("qc1")))
    with read_tx(c.app.state.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.attachment)).scalar() == before == 0


def test_the_migration_maps_old_integer_ids(plant: Plant) -> None:
    """Records written before revision 0008 hold integer ids: going down to 0007 gives them back, and
    coming up again turns them into public ids with the same permissions."""
    _with_files(plant)
    photo = _upload(plant, "qcm", b"old photo")
    rec = _inspection(plant, "qcm", photos=[photo], readings=[{"characteristic": "c", "value": 1, "photo": [photo]}])
    inst = plant.start(plant.ncr("qc1")["id"], "qc1")
    plant.act("qe1", plant.task_of("qe1", inst["id"])["id"], "comment", comment="c", attachments=[_upload(plant, "qe1", b"defect")])
    engine = plant.client.app.state.engine
    _deliver(engine, plant.client.app.state.settings)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect().execution_options(mom_write=True) as conn:
        cfg.attributes["connection"] = conn
        with conn.begin():
            command.downgrade(cfg, "0007")
            old = conn.execute(sa.select(sa.column("photos", sa.JSON)).select_from(sa.table("iqc_inspection"))
                               .where(sa.column("id") == rec["id"])).scalar()
        assert len(old) == 1 and isinstance(old[0], int)            # the old stored form: [7]
        with conn.begin():
            command.upgrade(cfg, "head")
    url = f"/api/records/iqc_inspection/{rec['id']}"
    doc = plant.client.get(url, headers=plant.h("qcm")).json()
    new = doc["photos"][0]
    assert isinstance(new, str) and not new.isdigit() and doc["readings"][0]["photo"] == [new]
    assert _get(plant, new, "qcm").content == b"old photo"
    _hidden(_get(plant, new, "qc1"))
    comment = next(e for e in plant.instance(inst["id"], "qc1")["timeline"] if e["action"] == "comment")
    assert _get(plant, comment["data"]["attachments"][0], "qc1").content == b"defect"
    with read_tx(engine) as conn:
        link = conn.execute(sa.select(T.notification.c.link).where(T.notification.c.kind == "report")).scalar()
    assert plant.client.get(link, headers=plant.h("qcm")).status_code == 200
    _hidden(plant.client.get(link, headers=plant.h("qc1")))

