"""Dashboards (widgets, ECharts options, drill, per-widget errors), print templates (sandbox, QR,
barcode, PDF with a Chinese font) and scheduled report delivery through the worker."""
from __future__ import annotations

import email
import json
import email.policy
import re
import shutil
import socket
import subprocess
import zlib

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant, Sink


def test_demo_dashboard_widgets(plant: Plant) -> None:
    r = plant.client.get("/api/dashboards/quality_overview/data", headers=plant.h("qcm"))
    assert r.status_code == 200, r.text
    w = {x["id"]: x for x in r.json()["widgets"]}
    assert all("error" not in x for x in w.values()), [x.get("error") for x in w.values()]
    assert w["pass_rate"]["target"] == 0.95 and w["pass_rate"]["status"] in ("ok", "bad") and w["pass_rate"]["trend"]
    line = w["daily"]["option"]
    assert line["xAxis"]["type"] == "category" and [s["name"] for s in line["series"]] == ["批次数", "合格批"]
    assert len(line["series"][0]["data"]) == len(line["xAxis"]["data"])
    par = w["fail_pareto"]
    assert par["pareto"][-1]["cumulative_percent"] == pytest.approx(100.0)
    assert par["option"]["series"][1]["yAxisIndex"] == 1 and par["drill"]["path"] == "/api/reports/iqc_by_supplier/drill"
    spc = w["bore_chart"]["spc"]
    assert spc["type"] == "xbar_r" and spc["subgroups"] == 25 and spc["capability"]["Cpk"] > 1.33
    marks = w["bore_chart"]["option"]["series"][0]["markLine"]["data"]
    assert [m["name"] for m in marks] == ["UCL", "CL", "LCL"]
    assert w["note"]["text"]["zh-CN"].startswith("数据来自")
    # one widget, shared parameter passed through
    one = plant.client.get("/api/dashboards/quality_overview/data", params={"widget": "by_supplier", "period": "last_7_days"},
                           headers=plant.h("qcm")).json()
    assert [x["id"] for x in one["widgets"]] == ["by_supplier"]


def test_widget_errors_stay_in_their_widget(plant: Plant) -> None:
    c, h = plant.client, plant.h("admin")
    secret = {"format": "mom.report/1", "name": "cost_only", "source": "iqc_inspection",
              "dimensions": [{"key": "supplier", "field": "supplier"}], "measures": [{"key": "cost", "agg": "sum", "field": "unit_cost"}],
              "permissions": {"roles": ["qc_manager"]}}
    assert c.put("/api/reports/cost_only", json=secret, headers=h).status_code == 200
    dash = {"format": "mom.dashboard/1", "name": "mixed", "widgets": [
        {"id": "a", "type": "bar", "report": "iqc_by_supplier", "x": "supplier", "y": ["lots"]},
        {"id": "b", "type": "table", "report": "cost_only"}]}
    assert c.put("/api/dashboards/mixed", json=dash, headers=h).status_code == 200
    got = {x["id"]: x for x in c.get("/api/dashboards/mixed/data", headers=plant.h("qc1")).json()["widgets"]}
    assert "option" in got["a"] and got["b"]["error"]["code"] == "access_denied"
    bad = dict(dash, widgets=[{"id": "a", "type": "bar", "report": "iqc_by_suplier", "x": "supplier", "y": ["lots"]},
                              {"id": "a", "type": "line", "report": "iqc_by_supplier", "x": "suplier", "y": ["lots"]}])
    r = c.put("/api/dashboards/mixed", json=bad, headers=h)
    paths = {p["path"] for p in r.json()["problems"]}
    assert r.status_code == 422 and {"/widgets/0/report", "/widgets/1/id", "/widgets/1/x"} <= paths


def test_form_print_template_html_qr_barcode_and_sandbox(plant: Plant) -> None:
    c = plant.client
    rid = c.get("/api/records/iqc_inspection", params={"lot_no": "PR-01"}, headers=plant.h("qcm")).json()["items"][0]["id"]
    r = c.get("/api/print/iqc_report", params={"record_id": rid}, headers=plant.h("qcm"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "@page { size: 210mm 297mm" in page and "WenQuanYi Micro Hei" in page
    assert "PR-01" in page and "温州精密铸造有限公司" in page and page.count("<svg") >= 2   # QR + Code 128
    assert "74.03" in page                                                                 # a reading of the child table
    label = c.get("/api/print/iqc_label", params={"record_id": rid}, headers=plant.h("qcm")).text
    assert "size: 100mm 50mm" in label
    # the QR code scales to the 30 mm asked for (a viewBox), and the result prints as people read it
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" style="width:30.0mm', label)
    result = c.get(f"/api/records/iqc_inspection/{rid}", headers=plant.h("qcm")).json()["result"]
    shown = {"pass": "合格", "fail": "不合格", "concession": "让步接收"}[result]
    assert f"<br>{shown}<br>" in label
    # templates cannot reach Python internals
    evil = {"format": "mom.print/1", "name": "evil", "form": "iqc_inspection",
            "template": "{{ record.__class__.__mro__[1].__subclasses__() }}"}
    assert c.put("/api/print-templates/evil", json=evil, headers=plant.h("admin")).status_code == 200
    r = c.get("/api/print/evil", params={"record_id": rid}, headers=plant.h("admin"))
    assert r.status_code == 422 and "subclasses" not in r.text.split("message")[0]
    broken = dict(evil, name="broken", template="{% for x in %}")
    r = c.put("/api/print-templates/broken", json=broken, headers=plant.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/template"
    # the inspector of another department may not print a record they cannot read; planners may not use the template
    assert c.get("/api/print/iqc_report", params={"record_id": rid}, headers=plant.h("planner")).status_code == 403


def _fonts(pdf: bytes) -> set[bytes]:
    blob = pdf
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            blob += zlib.decompress(m.group(1))
        except zlib.error:
            pass
    return set(re.findall(rb"/(?:BaseFont|FontName)\s*/([^\s/]+)", blob))


def _has_chinese_font() -> bool:
    return bool(shutil.which("fc-list")) and bool(subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip())


@pytest.mark.skipif(not _has_chinese_font(), reason="no Chinese font installed (.ci/run installs fonts-wqy-microhei)")
def test_pdf_embeds_a_chinese_font(plant: Plant) -> None:
    c = plant.client
    rid = c.get("/api/records/iqc_inspection", params={"lot_no": "PR-02"}, headers=plant.h("qcm")).json()["items"][0]["id"]
    r = c.get("/api/print/iqc_report", params={"record_id": rid, "format": "pdf"}, headers=plant.h("qcm"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert any(b"WenQuanYi" in f or b"CJK" in f or b"Han" in f for f in _fonts(r.content)), _fonts(r.content)


def test_scheduled_report_is_delivered_once_with_attachment(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with write_tx(engine) as conn:
            conn.execute(T.user.update().where(T.user.c.username == "qcm").values(email="qcm@plant.example"))
            # the weekly schedule of the demo report ("0 8 * * 1", plant time) fell due at its last firing
            import datetime as dt
            from zoneinfo import ZoneInfo

            from croniter import croniter
            last = croniter("0 8 * * 1", dt.datetime.now(ZoneInfo("Asia/Shanghai"))).get_prev(dt.datetime)
            conn.execute(T.definition.update().where(T.definition.c.name == "iqc_by_supplier")
                         .values(next_run_at=last.astimezone(dt.timezone.utc)))
        s = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        got = Worker(engine, s, name="w").drain()
        assert got["failed"] == 0 and got["schedules"] >= 1
        with read_tx(engine) as conn:
            runs = conn.execute(sa.select(T.report_run)).all()
            notes = conn.execute(sa.select(T.notification).where(T.notification.c.kind == "report")).all()
            nxt = conn.execute(sa.select(T.definition.c.next_run_at).where(T.definition.c.name == "iqc_by_supplier")).scalar()
            token = conn.execute(sa.select(T.attachment.c.token).where(T.attachment.c.id == runs[0].attachment_id)).scalar()
        assert len(runs) == 1 and runs[0].status == "done" and runs[0].rows >= 1
        assert len(notes) == 1 and notes[0].link == f"/api/attachments/{token}"    # the public id, not the integer key
        assert nxt is not None and nxt.weekday() in (0, 6)                 # next Monday 08:00 plant time
        mail = email.message_from_bytes(sink.messages[0].content, policy=email.policy.default)
        parts = [p for p in mail.iter_attachments()]
        assert [m.rcpt_tos for m in sink.messages] == [["qcm@plant.example"]]
        assert parts and parts[0].get_filename().endswith(".xlsx") and len(parts[0].get_content()) > 1000
        file = plant.client.get(notes[0].link, headers=plant.h("qcm"))
        assert file.status_code == 200 and file.content[:2] == b"PK"
        # the same firing queued again (a crashed worker's retry) delivers nothing new
        from mom.platform import outbox
        with write_tx(engine) as conn:
            outbox.emit(conn, "report.deliver", {"report": "iqc_by_supplier", "schedule": "weekly",
                                                 "due_at": runs[0].due_at.isoformat()}, now=runs[0].created_at)
        Worker(engine, s, name="w2").drain()
        with read_tx(engine) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(T.report_run)).scalar() == 1
        assert len(sink.messages) == 1
    finally:
        smtp.stop()


def test_dashboard_data_from_the_cli_matches_the_api(plant: Plant, cli) -> None:  # type: ignore[no-untyped-def]
    api = plant.client.get("/api/dashboards/quality_overview/data", params={"widget": "by_supplier"}, headers=plant.h("qcm")).json()
    out = cli("report", "dashboard", "quality_overview", "--widget", "by_supplier", "--as", "qcm")
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert [w["id"] for w in got["widgets"]] == ["by_supplier"]
    assert got["widgets"][0] == api["widgets"][0]       # the same widget data and ECharts option
    bad = cli("report", "dashboard", "no_such_board")
    assert bad.exit_code == 1 and "no_such_board" in bad.output
