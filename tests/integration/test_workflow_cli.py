"""The NCR flow driven entirely from the command line: apply, start, act, instances, worker, retry."""
from __future__ import annotations

import json
from pathlib import Path


from mom.platform.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_ncr_flow_from_the_command_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo").exit_code == 0
    flow = ROOT / "modelpacks/demo/workflows/ncr_review.json"
    assert cli("workflow", "validate", flow).exit_code == 0
    assert "unchanged" in cli("workflow", "apply", flow).output
    ncr = tmp_path / "ncr.csv"
    ncr.write_text("title,qty,cost,owner\n阀盖裂纹,3,18000,buyer\n", encoding="utf-8")
    assert cli("record", "import", "ncr", ncr, "--user", "qc1").exit_code == 0
    inst = _json(cli("workflow", "start", "ncr_review", 1, "--user", "qc1"))
    todo = _json(cli("workflow", "tasks", "--user", "qe1"))["items"]
    _json(cli("workflow", "act", todo[0]["id"], "approve", "--user", "qe1", "--values", '{"disposition": "scrap"}'))
    pm = _json(cli("workflow", "tasks", "--user", "pm"))["items"][0]
    _json(cli("workflow", "act", pm["id"], "return", "--user", "pm", "--target", "initiator", "--resume", "back"))
    _json(cli("workflow", "resubmit", inst["id"], "--user", "qc1"))
    pm = _json(cli("workflow", "tasks", "--user", "pm"))["items"][0]
    _json(cli("workflow", "act", pm["id"], "approve", "--user", "pm", "--comment", "同意报废"))
    qcm = _json(cli("workflow", "tasks", "--user", "qcm"))["items"][0]
    out = _json(cli("workflow", "act", qcm["id"], "approve", "--user", "qcm"))
    assert out["instance"]["status"] == "approved"
    full = _json(cli("workflow", "instances", "--id", inst["id"]))
    assert [e["action"] for e in full["timeline"]].count("return") == 1
    assert _json(cli("workflow", "instances", "--workflow", "ncr_review", "--status", "approved"))[0]["id"] == inst["id"]
    drained = _json(cli("worker", "--once"))
    assert drained["failed"] == 0 and drained["events"] >= 1
    # errors: someone else's task, unknown user, bad definition path
    bad = cli("workflow", "act", qcm["id"], "approve", "--user", "pm")
    assert bad.exit_code == 1 and "task is not yours" in bad.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "mom.workflow/1", "name": "x", "form": "ncr", "nodes": [{"id": "a", "type": "approval"}]}))
    res = cli("workflow", "validate", broken)
    assert res.exit_code == 1 and "/nodes/0/assignees" in res.output


def test_dead_letters_listed_and_retried_from_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo").exit_code == 0
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"format": "mom.rule/1", "name": "to_erp", "on": {"event": "record.created", "form": "breakdown"},
                                "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/unreachable"}]}))
    assert cli("workflow", "apply", rule).exit_code == 0
    csv = tmp_path / "b.csv"
    csv.write_text("machine,symptom\nCNC-1,异响\n", encoding="utf-8")
    assert cli("record", "import", "breakdown", csv).exit_code == 0
    import os
    os.environ["MOM_WORKER_MAX_ATTEMPTS"] = "1"
    get_settings.cache_clear()
    try:
        _json(cli("worker", "--once"))
    finally:
        del os.environ["MOM_WORKER_MAX_ATTEMPTS"]
        get_settings.cache_clear()
    dead = _json(cli("workflow", "dead"))
    assert [d["topic"] for d in dead["items"]] == ["deliver.webhook"]
    assert "cannot reach" in dead["items"][0]["last_error"]
    res = cli("workflow", "retry", dead["items"][0]["id"])
    assert res.exit_code == 0 and "1" in res.output
    assert _json(cli("workflow", "dead"))["stats"]["dead"] == 0
    assert cli("workflow", "retry", 99999).exit_code == 1
