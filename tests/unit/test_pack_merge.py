"""Three-way merge of pack definitions: a plant's designer changes survive a pack upgrade (no database)."""
from __future__ import annotations

import copy
import json
from typing import Any

from mom.engines.forms.definition import validate_form
from mom.engines.packs.merge import MergeConflict, merge
from mom.engines.workflow.spec import validate_workflow
from tests.conftest import ROOT


def load(rel: str) -> dict:
    return json.loads((ROOT / "modelpacks/demo" / rel).read_text(encoding="utf-8"))


def field(d: dict, key: str) -> dict:
    return next(f for f in d["fields"] if f["key"] == key)


def keys(d: dict) -> list[str]:
    return [f["key"] for f in d["fields"]]


def node(nodes: list[dict], node_id: str) -> dict:
    for n in nodes:
        if n["id"] == node_id:
            return n
        for b in n.get("branches", []):
            try:
                return node(b["nodes"], node_id)
            except StopIteration:
                pass
    raise StopIteration(node_id)


def test_plant_field_and_pack_field_both_arrive_in_order() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["fields"].insert(4, {"id": "p1", "key": "supplier_lot", "type": "text",
                               "label": {"zh-CN": "供应商批号", "en": "Supplier lot"}})
    pack["fields"].append({"id": "n10", "key": "root_cause", "type": "long_text",
                           "label": {"zh-CN": "根本原因", "en": "Root cause"}})
    r = merge(base, plant, pack)
    assert keys(r.merged) == ["code", "title", "material", "qty", "supplier_lot", "cost", "disposition",
                              "owner", "approval_state", "root_cause"]
    assert r.conflicts == []
    assert r.kept == [{"zh-CN": "保留工厂新增的字段「供应商批号」", "en": "kept the plant's new field “Supplier lot”"}]
    assert r.taken == [{"zh-CN": "采用新版本新增的字段「根本原因」", "en": "took the new version's new field “Root cause”"}]
    validate_form(r.merged)


def test_plant_field_added_first_stays_first() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["fields"].insert(0, {"id": "p1", "key": "plant_code", "type": "text", "label": "厂区"})
    pack["fields"].pop(2)                                  # the new version drops "material"
    r = merge(base, plant, pack)
    assert keys(r.merged)[:3] == ["plant_code", "code", "title"] and "material" not in keys(r.merged)
    assert r.taken == [{"zh-CN": "按新版本删除字段「物料」", "en": "took the new version's removal of field “Material”"}]


def test_plant_label_and_pack_max_length_both_apply() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    field(plant, "owner")["label"] = {"zh-CN": "责任工程师", "en": "Responsible engineer"}
    field(pack, "title")["max_length"] = 500
    field(pack, "qty")["min"] = 0
    r = merge(base, plant, pack)
    assert field(r.merged, "owner")["label"]["zh-CN"] == "责任工程师"
    assert field(r.merged, "title")["max_length"] == 500 and field(r.merged, "qty")["min"] == 0
    assert r.conflicts == []
    assert r.kept == [{"zh-CN": "保留工厂对字段「责任工程师」的 名称 的修改",      # named as the plant has it now
                       "en": "kept the plant's change to field “Responsible engineer”: label"}]
    assert {"zh-CN": "采用新版本对字段「不合格数量」的 最小值 的修改",
            "en": "took the new version's change to field “Nonconforming qty”: min"} in r.taken
    assert len(r.taken) == 2


def test_same_label_changed_differently_is_one_readable_conflict() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    field(plant, "title")["label"]["zh-CN"] = "不良现象"
    field(pack, "title")["label"]["zh-CN"] = "问题说明"
    r = merge(base, plant, pack)
    assert len(r.conflicts) == 1
    c = r.conflicts[0]
    assert c.path == ("fields", "n2", "label", "zh-CN")
    assert (c.base, c.plant, c.pack) == ("问题描述", "不良现象", "问题说明")
    assert c.where["zh-CN"] == "字段「不良现象」的 名称"                  # named as the plant sees it today
    assert "/" not in c.where["zh-CN"] and "title" not in c.where["zh-CN"] and "n2" not in c.where["zh-CN"]
    assert c.where["en"] == "field “Problem”: label"
    assert field(r.merged, "title")["label"]["zh-CN"] == "不良现象"      # the plant's value until someone decides


def test_deleted_field_stays_deleted_unless_the_pack_changed_it() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["fields"] = [f for f in plant["fields"] if f["key"] not in ("owner", "cost")]
    field(pack, "cost")["scale"] = 4
    r = merge(base, plant, pack)
    assert "owner" not in keys(r.merged) and "cost" not in keys(r.merged)
    assert {"zh-CN": "保持工厂已删除的字段「责任人」", "en": "kept the plant's removal of field “Owner”"} in r.kept
    assert [(c.path, c.where["zh-CN"], c.plant) for c in r.conflicts] == [(("fields", "n5"), "字段「损失金额（元）」", None)]
    assert r.conflicts[0].pack["scale"] == 4


def test_option_added_on_both_sides_and_same_change_on_both() -> None:
    base = load("forms/ncr.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    for d in (plant, pack):                               # the same fix arrived both ways: no conflict
        field(d, "approval_state")["max_length"] = 40
    field(plant, "disposition")["options"].append({"value": "sort", "label": {"zh-CN": "挑选", "en": "Sort"}})
    field(pack, "disposition")["options"].append({"value": "sort", "label": {"zh-CN": "挑选使用", "en": "Sort"}})
    r = merge(base, plant, pack)
    assert field(r.merged, "approval_state")["max_length"] == 40
    assert [c.where["zh-CN"] for c in r.conflicts] == ["字段「处置方式」的 选项「挑选」的 名称"]
    assert [o["value"] for o in field(r.merged, "disposition")["options"]] == ["rework", "scrap", "use_as_is", "return", "sort"]


def test_identity_is_the_first_attribute_every_item_has() -> None:
    base = {"fields": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]}
    plant = {"fields": [{"key": "a", "label": "A"}, {"key": "b", "label": "B2"}, {"key": "c", "label": "C"}]}
    pack = {"fields": [{"key": "b", "label": "B"}, {"key": "a", "label": "A1"}]}
    r = merge(base, plant, pack)
    assert r.merged == {"fields": [{"key": "b", "label": "B2"}, {"key": "c", "label": "C"}, {"key": "a", "label": "A1"}]}


def test_workflow_plant_step_and_pack_timeout() -> None:
    base = load("workflows/ncr_review.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["nodes"].insert(1, {"id": "qa_head", "type": "approval", "label": {"zh-CN": "质量部长审批", "en": "QA head approval"},
                              "assignees": [{"type": "role", "roles": ["qc_manager"]}], "mode": "any"})
    node(pack["nodes"], "managers")["timeout"]["hours"] = 24
    r = merge(base, plant, pack)
    assert [n["id"] for n in r.merged["nodes"]] == ["qe_review", "qa_head", "by_cost", "notify_owner", "mark"]
    assert node(r.merged["nodes"], "managers")["timeout"]["hours"] == 24
    assert r.conflicts == []
    assert r.kept == [{"zh-CN": "保留工厂新增的节点「质量部长审批」", "en": "kept the plant's new step “QA head approval”"}]
    assert r.taken == [{"zh-CN": "采用新版本对节点「by_cost」的 分支「损失超过一万元」的 节点「生产与质量经理会签」的 超时 的 小时 的修改",
                        "en": "took the new version's change to step “by_cost” › branch “cost above 10,000” › "
                              "step “Production and quality managers (countersign)”: timeout › hours"}]
    validate_workflow(r.merged)


def test_workflow_node_added_inside_a_branch_merges() -> None:
    base = load("workflows/ncr_review.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    else_branch = plant["nodes"][1]["branches"][1]
    else_branch["nodes"].append({"id": "qe_lead", "type": "approval", "label": {"zh-CN": "质量主管确认", "en": "QE lead"},
                                 "assignees": [{"type": "role", "roles": ["quality_engineer"]}], "mode": "any"})
    pack["nodes"][1]["branches"][0]["nodes"].append(
        {"id": "finance", "type": "cc", "label": {"zh-CN": "抄送财务", "en": "Copy finance"},
         "assignees": [{"type": "role", "roles": ["finance"]}]})
    node(pack["nodes"], "qe_review")["timeout"]["hours"] = 4
    r = merge(base, plant, pack)
    branches = r.merged["nodes"][1]["branches"]
    assert [n["id"] for n in branches[0]["nodes"]] == ["managers", "finance"]
    assert [n["id"] for n in branches[1]["nodes"]] == ["qe_lead"]
    assert r.merged["nodes"][0]["timeout"]["hours"] == 4 and r.conflicts == []
    assert r.kept[0]["zh-CN"] == "保留工厂新增的节点「by_cost」的 分支「其他情况」的 节点「质量主管确认」"
    validate_workflow(r.merged)


def test_scalar_lists_merge_as_a_whole() -> None:
    base = load("workflows/ncr_review.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["nodes"][0]["editable_fields"] = ["disposition", "owner"]
    pack["nodes"][0]["editable_fields"] = ["disposition", "cost", "qty"]
    r = merge(base, plant, pack)
    assert [(c.where["zh-CN"], c.plant, c.pack) for c in r.conflicts] == [
        ("节点「质量工程师评审」的 可编辑字段", ["disposition", "owner"], ["disposition", "cost", "qty"])]
    pack["nodes"][0]["editable_fields"] = ["disposition"]      # the pack left it alone: the plant's list stays
    assert merge(base, plant, pack).merged["nodes"][0]["editable_fields"] == ["disposition", "owner"]


def test_dashboard_widget_named_by_title_and_property_removed() -> None:
    base = load("dashboards/quality_overview.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    del plant["widgets"][0]["target"]
    pack["widgets"][0]["target"] = 0.98
    pack["refresh_seconds"] = 30
    r = merge(base, plant, pack)
    assert [c.where for c in r.conflicts] == [{"zh-CN": "组件「批合格率」的 目标值", "en": "widget “Lot pass rate”: target"}]
    assert "target" not in r.merged["widgets"][0] and r.merged["refresh_seconds"] == 30


def test_inputs_untouched_and_identity_merges() -> None:
    for rel in ("forms/ncr.json", "forms/iqc_inspection.json", "workflows/ncr_review.json", "reports/iqc_daily.json",
                "dashboards/quality_overview.json", "prints/iqc_label.json", "rules/breakdown_response.json"):
        x = load(rel)
        r = merge(x, copy.deepcopy(x), copy.deepcopy(x))
        assert r.merged == x and (r.conflicts, r.kept, r.taken) == ([], [], [])
    base = load("forms/iqc_inspection.json")
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    field(plant, "readings")["fields"][1]["scale"] = 3
    field(pack, "readings")["fields"].append({"id": "f7f", "key": "gauge", "type": "text", "label": {"zh-CN": "量具", "en": "Gauge"}})
    snapshot: list[Any] = copy.deepcopy([base, plant, pack])
    r = merge(base, plant, pack)
    assert [base, plant, pack] == snapshot
    table = field(r.merged, "readings")
    assert table["fields"][1]["scale"] == 3 and table["fields"][-1]["key"] == "gauge"
    assert r.kept == [{"zh-CN": "保留工厂对字段「检测数据」的 字段「实测值」的 小数位 的修改",
                       "en": "kept the plant's change to field “Readings” › field “Value”: decimal places"}]
    table["fields"][0]["label"] = "changed"                   # the result shares nothing with the inputs
    assert field(plant, "readings")["fields"][0]["label"]["en"] == "Characteristic"
    assert field(pack, "readings")["fields"][0]["label"]["en"] == "Characteristic"


def test_conflict_values_are_plain_json() -> None:
    base = {"name": "x", "label": "A"}
    r = merge(base, {"name": "x"}, {"name": "x", "label": "B"})
    assert r.conflicts == [MergeConflict(path=("label",), where={"zh-CN": "名称", "en": "label"}, base="A", plant=None, pack="B")]
    assert r.merged == {"name": "x"}
    assert merge(True, 1, True).merged == 1                   # true is not 1: the plant changed it


def test_permission_rows_match_by_role() -> None:
    base = load("forms/ncr.json")
    base["permissions"] = [{"role": "*", "actions": ["create", "read", "update"]},       # the rows this test is about
                           {"role": "qc_manager", "actions": ["create", "read", "update", "delete", "export"]}]
    plant, pack = copy.deepcopy(base), copy.deepcopy(base)
    plant["permissions"].append({"role": "auditor", "actions": ["read"]})
    plant["permissions"][0]["actions"] = ["read"]
    pack["permissions"][1]["actions"].append("design")
    r = merge(base, plant, pack)
    assert r.merged["permissions"] == [{"role": "*", "actions": ["read"]},
                                       {"role": "qc_manager", "actions": ["create", "read", "update", "delete", "export", "design"]},
                                       {"role": "auditor", "actions": ["read"]}]
    assert r.conflicts == []
    assert [k["zh-CN"] for k in r.kept] == ["保留工厂对权限「所有人」的 操作 的修改", "保留工厂新增的权限「auditor」"]


def test_plant_reorder_is_kept_and_said() -> None:
    base = load("forms/ncr.json")
    plant = copy.deepcopy(base)
    plant["fields"][1], plant["fields"][2] = plant["fields"][2], plant["fields"][1]
    r = merge(base, plant, copy.deepcopy(base))
    assert keys(r.merged)[:3] == ["code", "material", "title"]
    assert r.kept == [{"zh-CN": "保留工厂对字段顺序的调整", "en": "kept the plant's new order of fields"}]


def test_without_a_base_equal_parts_merge_and_different_parts_conflict() -> None:
    from mom.engines.packs.merge import ABSENT
    plant, pack = load("forms/ncr.json"), load("forms/ncr.json")
    field(pack, "qty")["min"] = 0
    r = merge(ABSENT, plant, pack)
    assert [c.path for c in r.conflicts] == [("fields", "n4", "min")] and r.conflicts[0].base is None
    assert field(r.merged, "qty")["min"] == 1 and r.merged["fields"] == plant["fields"]
