"""Pack upgrades end to end: a plant's customisations (field added, label changed, flow node added)
kept beside the new version's changes; a real conflict refused with nothing applied; a failing
migration or an invalid definition rolling the whole upgrade back; a stale plan hash refused."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.packs import manager
from mom.platform.cli.common import form_registry
from mom.platform.db.engine import write_tx
from mom.platform.errors import Conflict, MomError
from tests.integration.packs_helpers import admin_headers, field, ok, pack_folder, pack_row, quality_pack, rows, snapshot


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on MOM_PACK_PATH for the test's packs (each in a sub-folder)."""
    return pack_folder(tmp_path, monkeypatch)


# ---------------------------------------------------------------- 3. upgrade keeping the plant's changes
def _customise(client: TestClient, admin: dict[str, str]) -> None:
    """What a plant does in the designers: a field added to the checks, a label changed, a flow node added."""
    raw = client.get("/api/forms/qa_check", headers=admin).json()
    raw = raw.get("definition", raw)
    raw["fields"].append({"id": "p1", "key": "shift", "type": "text", "label": {"zh-CN": "班次", "en": "Shift"}, "max_length": 10})
    field(raw, "qty")["label"] = {"zh-CN": "样本数", "en": "Samples"}
    r = client.put("/api/forms/qa_check", json=raw, headers=admin)
    assert r.status_code == 200, r.text
    flow = client.get("/api/workflows/qa_check_review", headers=admin).json()
    flow = flow.get("definition", flow)
    flow["nodes"].append({"id": "manager_ok", "type": "approval", "label": {"zh-CN": "质量经理批准", "en": "QA manager approval"},
                          "assignees": [{"type": "role", "roles": ["qa_inspector"]}], "mode": "any"})
    r = client.put("/api/workflows/qa_check_review", json=flow, headers=admin)
    assert r.status_code == 200, r.text


def _v2(defs: dict[str, Any]) -> None:
    """Version 2: a batch field on the checks, the line name relabelled, the review step renamed."""
    defs["forms/qa_check.json"]["fields"].append(
        {"id": "c5", "key": "batch", "type": "text", "label": {"zh-CN": "批次号", "en": "Batch"}, "max_length": 30})
    field(defs["forms/qa_line.json"], "name")["label"] = {"zh-CN": "产线全称", "en": "Full name"}
    defs["workflows/qa_check_review.json"]["nodes"][0]["label"] = {"zh-CN": "质检员复核", "en": "Inspector check"}


def test_upgrade_keeps_the_plants_customisations(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    admin = admin_headers(client, engine)
    _customise(client, admin)
    r = client.post("/api/records/qa_check", json={"code": "QC-100", "qty": 7, "result": "pass", "shift": "夜班"}, headers=admin)
    assert r.status_code == 201, r.text
    before = rows(engine, "qa_check", "id, code, qty, result, shift")

    quality_pack(packs / "qa", "2.0.0", edit=_v2)
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "升级 质量检验（qa 1.0.0 -> 2.0.0）" in plan
    assert "表单 检验单：合并" in plan and "审批流程 检验单审核：合并" in plan
    assert "表单 产线：修改" in plan
    assert "班次" in plan and "批次号" in plan           # what is kept and what is taken, in words
    out = ok(cli("pack", "upgrade", "qa", "--yes"))
    assert "已升级" in out

    got = client.get("/api/forms/qa_check", headers=admin).json()
    got = got.get("definition", got)
    keys = [f["key"] for f in got["fields"]]
    assert "shift" in keys and "batch" in keys                                    # the plant's and v2's field
    assert field(got, "qty")["label"]["zh-CN"] == "样本数"                         # the plant's label
    line = client.get("/api/forms/qa_line", headers=admin).json()
    assert field(line.get("definition", line), "name")["label"]["zh-CN"] == "产线全称"   # v2's change
    flow = client.get("/api/workflows/qa_check_review", headers=admin).json()
    flow = flow.get("definition", flow)
    assert [n["id"] for n in flow["nodes"]] == ["inspect", "manager_ok"]          # the plant's node
    assert flow["nodes"][0]["label"]["zh-CN"] == "质检员复核"                       # v2's label
    assert rows(engine, "qa_check", "id, code, qty, result, shift") == before       # records intact
    r = client.post("/api/records/qa_check", json={"code": "QC-101", "qty": 2, "shift": "白班", "batch": "B-9"}, headers=admin)
    assert r.status_code == 201, r.text
    assert pack_row(engine, "qa")["version"] == "2.0.0"
    shown = ok(cli("pack", "show", "qa"))
    assert "检验单  已自定义" in shown


# ---------------------------------------------------------------- 4. a real conflict
def test_conflicting_upgrade_is_refused_and_changes_nothing(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    admin = admin_headers(client, engine)
    _customise(client, admin)

    def v2(defs: dict[str, Any]) -> None:
        _v2(defs)
        field(defs["forms/qa_check.json"], "qty")["label"] = {"zh-CN": "抽样件数", "en": "Sampled"}

    quality_pack(packs / "qa", "2.0.0", edit=v2)
    before, records = snapshot(engine), rows(engine, "qa_check")
    r = cli("pack", "upgrade", "qa", "--yes")
    assert r.exit_code == 1, r.output
    assert "冲突" in r.output and "表单「检验单」的 字段「样本数」的 名称" in r.output
    assert "样本数" in r.output and "抽样件数" in r.output
    assert snapshot(engine) == before and rows(engine, "qa_check") == records
    assert pack_row(engine, "qa")["version"] == "1.0.0"


# ---------------------------------------------------------------- 5. a failing step mid-upgrade
POST_FAILS = "def migrate(conn, ctx):\n    conn.exec_driver_sql(\"UPDATE qa_check SET qty = qty + 100\")\n    raise RuntimeError(\"没有这个工位\")\n"


def test_failing_migration_rolls_the_whole_upgrade_back(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    quality_pack(packs / "qa", "2.0.0", edit=_v2, extra={"migrations/2.0.0/post.py": POST_FAILS})
    before, records = snapshot(engine), rows(engine, "qa_check")

    r = cli("pack", "upgrade", "qa", "--yes")                       # the plan's rehearsal finds it
    assert r.exit_code == 1, r.output
    assert "migrations/2.0.0/post.py:3" in r.output and "没有这个工位" in r.output and "未做任何修改" in r.output
    assert snapshot(engine) == before and rows(engine, "qa_check") == records

    with pytest.raises(MomError) as got:                            # applied without a rehearsal: rolled back
        manager.execute(engine, None, "upgrade", "qa", forms_factory=form_registry)
    assert "post.py:3" in str(got.value.zh) and got.value.detail["line"] == 3
    assert snapshot(engine) == before and rows(engine, "qa_check") == records
    assert pack_row(engine, "qa")["version"] == "1.0.0"


def _bad_flow(defs: dict[str, Any]) -> None:
    _v2(defs)
    defs["workflows/qa_check_review.json"]["nodes"][0]["editable_fields"] = ["no_such_field"]


def test_invalid_workflow_in_an_upgrade_changes_nothing(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    quality_pack(packs / "qa", "2.0.0", edit=_bad_flow)
    before, records = snapshot(engine), rows(engine, "qa_check")
    r = cli("pack", "upgrade", "qa", "--yes")
    assert r.exit_code == 1, r.output
    assert "no_such_field" in r.output and "未做任何修改" in r.output
    assert "审批流程「检验单审核」（qa 的 workflows/qa_check_review.json）" in r.output       # the flow in words and the pack's file
    assert snapshot(engine) == before and rows(engine, "qa_check") == records
    with pytest.raises(MomError):                                   # applied without a rehearsal: rolled back
        manager.execute(engine, None, "upgrade", "qa", forms_factory=form_registry)
    assert snapshot(engine) == before and rows(engine, "qa_check") == records
    assert pack_row(engine, "qa")["version"] == "1.0.0"


# ---------------------------------------------------------------- 9. a stale plan
def test_execute_with_a_stale_plan_hash_is_a_conflict(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    quality_pack(packs / "qa", "2.0.0", edit=_v2)
    shown = manager.plan(engine, "upgrade", "qa", forms_factory=form_registry)
    assert not shown.blocked
    admin = admin_headers(client, engine)
    raw = client.get("/api/forms/qa_check", headers=admin).json()
    raw = raw.get("definition", raw)
    field(raw, "qty")["label"] = {"zh-CN": "样本数", "en": "Samples"}        # the plant changes it after the plan was shown
    assert client.put("/api/forms/qa_check", json=raw, headers=admin).status_code == 200
    before = snapshot(engine)
    with pytest.raises(Conflict) as got:
        manager.execute(engine, shown.hash, "upgrade", "qa", forms_factory=form_registry)
    assert "计划已经不是最新的" in got.value.zh
    fresh = got.value.detail["plan"]
    assert fresh["hash"] != shown.hash and any(i["name"] == "qa_check" and i["change"] == "merged" for i in fresh["items"])
    assert snapshot(engine) == before and pack_row(engine, "qa")["version"] == "1.0.0"
    manager.execute(engine, fresh["hash"], "upgrade", "qa", forms_factory=form_registry)   # the fresh one applies
    assert pack_row(engine, "qa")["version"] == "2.0.0"


# ---------------------------------------------------------------- more upgrade paths a plant meets
def test_installing_the_same_version_again_changes_nothing(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    before, lines, checks = snapshot(engine), rows(engine, "qa_line"), rows(engine, "qa_check")
    plan = ok(cli("pack", "plan", "qa"))
    assert "新增" not in plan and "修改" not in plan
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    ok(cli("pack", "upgrade", "qa", "--yes"))
    assert snapshot(engine) == before and rows(engine, "qa_line") == lines and rows(engine, "qa_check") == checks


def test_upgrade_keeps_edited_master_rows_and_adds_new_ones(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    l1 = next(r for r in rows(engine, "qa_line", "id, code, row_version") if r["code"] == "L1")
    r = client.patch(f"/api/records/qa_line/{l1['id']}", json={"name": "总装一线", "row_version": l1["row_version"]}, headers=admin)
    assert r.status_code == 200, r.text
    root = quality_pack(packs / "qa", "2.0.0", edit=_v2)
    (root / "fixtures" / "qa_line.csv").write_text("code,name\nL1,一号线\nL2,二号线\nL3,三号线\n", encoding="utf-8")
    ok(cli("pack", "upgrade", "qa", "--yes"))
    got = {r["code"]: r["name"] for r in rows(engine, "qa_line", "code, name")}
    assert got == {"L1": "总装一线", "L2": "二号线", "L3": "三号线"}


def test_a_form_dropped_by_v2_is_retired_with_its_data_and_restored_by_v3(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    checks = rows(engine, "qa_check")
    admin = admin_headers(client, engine)

    def without_checks(defs: dict[str, Any]) -> None:
        for f in ("forms/qa_check.json", "workflows/qa_check_review.json", "reports/qa_by_result.json"):
            del defs[f]

    root = quality_pack(packs / "qa", "2.0.0", edit=without_checks)
    manifest = json.loads((root / "pack.json").read_text(encoding="utf-8"))
    manifest["demo"] = []                     # no demo rows for a form it no longer ships
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "表单 检验单：停用（数据保留）" in plan
    ok(cli("pack", "upgrade", "qa", "--yes"))
    r = client.get("/api/records/qa_check", headers=admin)
    assert r.status_code == 404 and "已停用" in r.text
    assert rows(engine, "qa_check") == checks

    quality_pack(packs / "qa", "3.0.0")
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "表单 检验单：恢复" in plan
    ok(cli("pack", "upgrade", "qa", "--yes"))
    assert client.get("/api/records/qa_check", headers=admin).status_code == 200
    assert rows(engine, "qa_check") == checks and pack_row(engine, "qa")["version"] == "3.0.0"


def test_reinstalling_a_newer_version_after_uninstall_keeps_records(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    checks = rows(engine, "qa_check", "id, code, qty, result")
    ok(cli("pack", "uninstall", "qa", "--yes"))
    quality_pack(packs / "qa", "2.0.0", edit=_v2)
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    assert rows(engine, "qa_check", "id, code, qty, result") == checks
    got = client.get("/api/forms/qa_check", headers=admin).json()
    assert "batch" in [f["key"] for f in got.get("definition", got)["fields"]]
    assert pack_row(engine, "qa")["version"] == "2.0.0" and pack_row(engine, "qa")["status"] == "installed"


def test_upgrade_adds_new_forms_and_reports_to_the_menu(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))

    def v2(defs: dict[str, Any]) -> None:
        defs["forms/qa_plan.json"] = {"format": "mom.form/1", "name": "qa_plan", "label": {"zh-CN": "抽检计划", "en": "Sampling plan"},
                                      "fields": [{"id": "p1", "key": "title", "type": "text", "label": {"zh-CN": "计划", "en": "Plan"}}],
                                      "permissions": [{"role": "*", "actions": ["create", "read"]}]}
        defs["reports/qa_by_line.json"] = {"format": "mom.report/1", "name": "qa_by_line", "label": {"zh-CN": "各产线检验数", "en": "Checks by line"},
                                           "source": "qa_check", "dimensions": [{"key": "line", "field": "line", "label": {"zh-CN": "产线", "en": "Line"}}],
                                           "measures": [{"key": "checks", "agg": "count", "label": {"zh-CN": "检验单数", "en": "Checks"}}]}

    quality_pack(packs / "qa", "1.1.0", edit=v2)
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "表单 抽检计划：新增" in plan and "报表 各产线检验数：新增" in plan
    ok(cli("pack", "upgrade", "qa", "--yes"))
    admin = admin_headers(client, engine)
    qa = next(a for a in client.get("/api/apps", headers=admin).json() if a["name"] == "qa")
    assert {f["name"] for f in qa["forms"]} == {"qa_line", "qa_check", "qa_plan"}
    assert {r["name"] for r in qa["reports"]} == {"qa_by_result", "qa_by_line"}
    assert client.get("/api/reports/qa_by_line/data", headers=admin).status_code == 200


def test_a_field_the_plant_removed_and_v2_changed_is_a_conflict(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    admin = admin_headers(client, engine)
    raw = client.get("/api/forms/qa_check", headers=admin).json()
    raw = raw.get("definition", raw)
    raw["fields"] = [f for f in raw["fields"] if f["key"] != "result"]
    r = client.put("/api/forms/qa_check", json=raw, headers=admin)
    assert r.status_code == 200, r.text

    def v2(defs: dict[str, Any]) -> None:
        field(defs["forms/qa_check.json"], "result")["label"] = {"zh-CN": "检验结论", "en": "Verdict"}

    quality_pack(packs / "qa", "2.0.0", edit=v2)
    before = snapshot(engine)
    r = cli("pack", "upgrade", "qa", "--yes")
    assert r.exit_code == 1, r.output
    conflict = next(x for x in r.output.splitlines() if "冲突：" in x)
    assert "表单「检验单」的 字段「检验结论」（原来是 「结论」）：工厂删除了它" in conflict and "null" not in conflict and '"key"' not in conflict
    assert snapshot(engine) == before


def test_migrations_run_once_for_each_version_passed_in_order(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    raises = "def migrate(conn, ctx):\n    raise RuntimeError('1.0.0 is installed already: must not run')\n"
    pre = ("def migrate(conn, ctx):\n    assert ctx.phase == 'pre' and ctx.from_version == '1.0.0' and ctx.to_version == '2.0.0'\n"
           "    conn.exec_driver_sql('UPDATE qa_check SET qty = qty * 10')\n")
    post = ("def migrate(conn, ctx):\n    assert ctx.version == '2.0.0'\n"
            "    conn.exec_driver_sql(\"UPDATE qa_check SET batch = 'OLD-' || code WHERE batch IS NULL\")\n")
    quality_pack(packs / "qa", "2.0.0", edit=_v2, extra={"migrations/1.0.0/post.py": raises, "migrations/1.1.0/pre.py": pre,
                                                          "migrations/2.0.0/post.py": post})
    before = {r["code"]: r["qty"] for r in rows(engine, "qa_check", "code, qty")}
    out = ok(cli("pack", "upgrade", "qa", "--yes"))
    assert "迁移 / migration qa 1.1.0 pre" in out and "迁移 / migration qa 2.0.0 post" in out
    got = rows(engine, "qa_check", "code, qty, batch")
    assert {r["code"]: r["qty"] for r in got} == {k: v * 10 for k, v in before.items()}     # once, not twice (plan rehearsed it)
    assert {r["code"]: r["batch"] for r in got} == {k: f"OLD-{k}" for k in before}
    ok(cli("pack", "upgrade", "qa", "--yes"))                                                # nothing left to run
    assert rows(engine, "qa_check", "code, qty, batch") == got


def test_upgrade_of_a_pack_installed_before_the_manager_kept_bases(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    """A plant that installed a pack with the old loader (no mom_pack_item rows): the first published
    versions serve as the merge base, so its customisations are kept too."""
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    with write_tx(engine) as conn:
        conn.execute(sa.text("DELETE FROM mom_pack_item WHERE pack = 'qa'"))
    admin = admin_headers(client, engine)
    _customise(client, admin)
    quality_pack(packs / "qa", "2.0.0", edit=_v2)
    ok(cli("pack", "upgrade", "qa", "--yes"))
    got = client.get("/api/forms/qa_check", headers=admin).json()
    got = got.get("definition", got)
    assert {"shift", "batch"} <= {f["key"] for f in got["fields"]} and field(got, "qty")["label"]["zh-CN"] == "样本数"
    flow = client.get("/api/workflows/qa_check_review", headers=admin).json()
    flow = flow.get("definition", flow)
    assert [n["id"] for n in flow["nodes"]] == ["inspect", "manager_ok"] and flow["nodes"][0]["label"]["zh-CN"] == "质检员复核"
