"""Small model packs written into a test's tmp_path, for the pack manager's end-to-end tests.

``write_pack(folder, manifest_extra, files)`` writes ``pack.json`` and the files; ``quality_pack`` writes
the test pack "qa" (质量检验) at a version: two forms (产线 lines, master data; 检验单 checks), an approval
flow on the checks, a report, a role, master rows (lines) and demo rows (checks). ``v2`` changes can be
applied to its definitions through ``edit`` callbacks, so each test writes the upgrade it needs.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.db import tables as T
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

Defs = dict[str, Any]


def lab(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


LINE_FORM: Defs = {
    "format": "mom.form/1", "name": "qa_line", "label": lab("产线", "Line"), "display_field": "name",
    "fields": [
        {"id": "l1", "key": "code", "type": "text", "label": lab("产线编码", "Code"), "required": True, "unique": True, "max_length": 20},
        {"id": "l2", "key": "name", "type": "text", "label": lab("产线名称", "Name"), "required": True, "max_length": 50},
    ],
    "permissions": [{"role": "*", "actions": ["read"]}, {"role": "qa_inspector", "actions": ["create", "read", "update"]}],
}

CHECK_FORM: Defs = {
    "format": "mom.form/1", "name": "qa_check", "label": lab("检验单", "Check"), "display_field": "code",
    "fields": [
        {"id": "c1", "key": "code", "type": "text", "label": lab("检验单号", "Check no."), "required": True, "unique": True, "max_length": 20},
        {"id": "c2", "key": "line", "type": "reference", "form": "qa_line", "label": lab("产线", "Line")},
        {"id": "c3", "key": "qty", "type": "integer", "label": lab("抽检数量", "Sample size"), "min": 1},
        {"id": "c4", "key": "result", "type": "select", "label": lab("结论", "Result"),
         "options": [{"value": "pass", "label": lab("合格", "Pass")}, {"value": "fail", "label": lab("不合格", "Fail")}]},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"]}],
}

CHECK_FLOW: Defs = {
    "format": "mom.workflow/1", "name": "qa_check_review", "label": lab("检验单审核", "Check review"), "form": "qa_check",
    "trigger": {"on": "submit"},
    "nodes": [
        {"id": "inspect", "type": "approval", "label": lab("质检员审核", "Inspector review"),
         "assignees": [{"type": "role", "roles": ["qa_inspector"]}], "mode": "any"},
    ],
}

CHECK_REPORT: Defs = {
    "format": "mom.report/1", "name": "qa_by_result", "label": lab("检验结论统计", "Checks by result"), "source": "qa_check",
    "dimensions": [{"key": "result", "field": "result", "label": lab("结论", "Result")}],
    "measures": [{"key": "checks", "agg": "count", "label": lab("检验单数", "Checks")}],
}

LINES_CSV = "code,name\nL1,一号线\nL2,二号线\n"
CHECKS_CSV = "code,qty,result\nQC-001,5,pass\nQC-002,8,fail\nQC-003,3,pass\n"


def write_pack(root: Path, manifest: Defs, files: dict[str, Any]) -> Path:
    """Write ``pack.json`` (``manifest``) and ``files`` ({relative path: dict -> JSON, str -> text}) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
        path.write_text(text, encoding="utf-8")
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return root


def quality_defs() -> dict[str, Defs]:
    """Fresh copies of the qa pack's definitions, by file."""
    return {"forms/qa_line.json": copy.deepcopy(LINE_FORM), "forms/qa_check.json": copy.deepcopy(CHECK_FORM),
            "workflows/qa_check_review.json": copy.deepcopy(CHECK_FLOW), "reports/qa_by_result.json": copy.deepcopy(CHECK_REPORT)}


def quality_pack(root: Path, version: str = "1.0.0", *, edit: Callable[[dict[str, Defs]], None] | None = None,
                 depends: dict[str, str] | None = None, name: str = "qa", extra: dict[str, str] | None = None) -> Path:
    """Write pack ``name`` (default qa, 质量检验) at ``version`` into ``root``; ``edit`` may change its
    definitions (by file) first; ``extra`` adds files (e.g. a migration)."""
    defs = quality_defs()
    if edit is not None:
        edit(defs)
    manifest: Defs = {
        "format": "mom.pack/1", "name": name, "version": version, "label": lab("质量检验", "Quality checks"),
        "forms": [f for f in defs if f.startswith("forms/")],
        "workflows": [f for f in defs if f.startswith("workflows/")],
        "reports": [f for f in defs if f.startswith("reports/")],
        "roles": [{"name": "qa_inspector", "label": lab("质检员", "QA inspector")}],
        "fixtures": [{"form": "qa_line", "file": "fixtures/qa_line.csv", "key": "code"}],
        "demo": [{"form": "qa_check", "file": "demo/qa_check.csv", "key": "code"}],
    }
    if depends:
        manifest["depends"] = depends
    files: dict[str, Any] = {**defs, "fixtures/qa_line.csv": LINES_CSV, "demo/qa_check.csv": CHECKS_CSV, **(extra or {})}
    return write_pack(root, manifest, files)


def field(raw: Defs, key: str) -> Defs:
    return next(f for f in raw["fields"] if f["key"] == key)


# ---------------------------------------------------------------- reading the database back
def pack_row(engine: sa.engine.Engine, name: str) -> dict[str, Any] | None:
    with read_tx(engine) as conn:
        row = conn.execute(sa.select(T.pack).where(T.pack.c.name == name)).mappings().first()
    return dict(row) if row else None


def form_versions(engine: sa.engine.Engine) -> dict[str, int]:
    """form name -> number of published versions."""
    with read_tx(engine) as conn:
        q = sa.select(T.form_version.c.form_name, sa.func.count()).group_by(T.form_version.c.form_name)
        return {n: c for n, c in conn.execute(q)}


def live_form(engine: sa.engine.Engine, name: str) -> Defs | None:
    """The latest published definition of form ``name``."""
    with read_tx(engine) as conn:
        q = (sa.select(T.form_version.c.definition).where(T.form_version.c.form_name == name)
             .order_by(T.form_version.c.version.desc()).limit(1))
        return conn.execute(q).scalar()


def rows(engine: sa.engine.Engine, table: str, cols: str = "*") -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT {cols} FROM {table} ORDER BY id")).mappings()]


def snapshot(engine: sa.engine.Engine) -> dict[str, Any]:
    """What a failed or refused pack change must leave exactly as it was: tables, form versions and
    definitions, workflow versions, the pack rows and what they own."""
    with read_tx(engine) as conn:
        packs = [dict(r) for r in conn.execute(sa.select(T.pack.c.name, T.pack.c.version, T.pack.c.status,
                                                         T.pack.c.manifest_hash).order_by(T.pack.c.name)).mappings()]
        items = [tuple(r) for r in conn.execute(sa.select(T.pack_item.c.kind, T.pack_item.c.name, T.pack_item.c.pack,
                                                          T.pack_item.c.base_hash, T.pack_item.c.pack_version)
                                                .order_by(T.pack_item.c.kind, T.pack_item.c.name))]
        fv = [tuple(r) for r in conn.execute(sa.select(T.form_version.c.form_name, T.form_version.c.version,
                                                       T.form_version.c.definition)
                                             .order_by(T.form_version.c.form_name, T.form_version.c.version))]
        wv = [tuple(r) for r in conn.execute(sa.select(T.workflow_version.c.name, T.workflow_version.c.version)
                                             .order_by(T.workflow_version.c.name, T.workflow_version.c.version))]
    tables = sorted(t for t in sa.inspect(engine).get_table_names() if not t.startswith("mom_") and t != "alembic_version")
    cols = {t: sorted(c["name"] for c in sa.inspect(engine).get_columns(t)) for t in tables}
    return {"packs": packs, "items": items, "form_versions": fv, "workflow_versions": wv, "tables": tables, "columns": cols}


# ---------------------------------------------------------------- running the CLI and the API
def pack_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder put on MOM_PACK_PATH, for the test's packs (each in a sub-folder)."""
    folder = tmp_path / "packs"
    folder.mkdir()
    monkeypatch.setenv("MOM_PACK_PATH", str(folder))
    return folder


def ok(result: Any) -> str:
    """The output of a ``mom`` command that must succeed."""
    assert result.exit_code == 0, result.output
    return result.output


def admin_headers(client: TestClient, engine: sa.engine.Engine) -> dict[str, str]:
    """An administrator boss (made now) signed in."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
    return login(client, "boss", "boss-pass-1")
