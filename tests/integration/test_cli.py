"""The `mom` command line: validate/plan/apply a folder, import/export, users; errors exit non-zero."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_pack_validate_plan_apply_is_idempotent(cli) -> None:  # type: ignore[no-untyped-def]
    pack = ROOT / "modelpacks" / "demo"
    assert cli("form", "apply", ROOT / "modelpacks" / "core").exit_code == 0       # the demo's materials are core's items
    assert cli("form", "validate", pack).exit_code == 0
    plan = cli("form", "plan", pack)
    assert plan.exit_code == 0 and "新建表 iqc_inspection" in plan.output
    assert cli("form", "apply", pack).exit_code == 0
    again = cli("form", "apply", pack)
    # 5 forms, 1 workflow, 1 rule, 3 reports, 1 dashboard, 2 print templates
    assert again.exit_code == 0 and again.output.count("unchanged") == 13
    exported = json.loads(cli("form", "export", "supplier").output)
    assert exported["name"] == "supplier"


def test_bad_definition_prints_paths_and_fails(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "mom.form/1", "name": "x", "fields": [{"id": "a", "key": "A b", "type": "txt"}]}))
    r = cli("form", "apply", bad)
    assert r.exit_code == 1
    assert "/fields/0/key" in r.output and "/fields/0/type" in r.output
    broken = tmp_path / "broken.json"
    broken.write_text("{\"name\": ")
    r = cli("form", "validate", broken)
    assert r.exit_code == 1 and "malformed JSON" in r.output


def test_import_export_and_users(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("form", "apply", ROOT / "modelpacks" / "core")
    cli("form", "apply", ROOT / "modelpacks" / "demo")
    r = cli("record", "import", "supplier", ROOT / "modelpacks/demo/fixtures/supplier.csv", "--key", "code")
    assert r.exit_code == 0 and "3 created" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\nlower case,x\nSUP-9,\n", encoding="utf-8")
    errs = tmp_path / "errors.csv"
    r = cli("record", "import", "supplier", bad, "--errors", errs)
    assert r.exit_code == 1 and "row 2" in r.output and errs.exists()
    out = tmp_path / "s.xlsx"
    assert cli("record", "export", "supplier", "--format", "xlsx", "--out", out).exit_code == 0 and out.stat().st_size > 0
    csv_out = cli("record", "export", "supplier")
    assert "温州精密铸造有限公司" in csv_out.output
    assert cli("user", "add", "wang", "--password", "wang-pass-1", "--role", "qc_inspector").exit_code == 0
    assert cli("user", "add", "wang", "--password", "wang-pass-1").exit_code == 1


@pytest.mark.slow
def test_demo_is_idempotent(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo").exit_code == 0
    r = cli("demo")
    assert r.exit_code == 0 and "iqc_inspection: +0" in r.output
