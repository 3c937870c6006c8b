"""The extension surface stays documented and used: every hookspec has a docstring and a section in
docs/extending.md whose example plug-in registers; the core's features come through the hooks; a
throw-away plug-in on a fresh manager extends the registries."""
from __future__ import annotations

import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from mom.platform import connectors, delivery, hookspecs
from mom.platform.composition import form_registry
from mom.platform.connectors import DeviceMapping
from mom.platform.errors import Conflict, InvalidInput
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import CORE_PLUGINS, by_key, new_manager
from mom.platform.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "extending.md").read_text(encoding="utf-8")
SPECS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("mom_"))


def _section(name: str) -> str:
    found = re.search(rf"^### `{name}`\n(.*?)(?=^### |^## |\Z)", DOC, re.S | re.M)
    return found.group(1) if found else ""


def _example(name: str) -> types.ModuleType:
    """The section's last python block, imported as a module of its own."""
    code = re.findall(r"```python\n(.*?)```", _section(name), re.S)[-1]
    mod = types.ModuleType(f"docs_example_{name}")
    sys.modules[mod.__name__] = mod          # dataclasses look their module up
    try:
        exec(compile(code, f"docs/extending.md#{name}", "exec"), mod.__dict__)  # noqa: S102 - our own docs
    finally:
        del sys.modules[mod.__name__]
    return mod


def test_there_are_hooks() -> None:
    assert len(SPECS) >= 13


@pytest.mark.parametrize("name", SPECS)
def test_each_hook_has_a_docstring_and_a_documented_example(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert (spec.__doc__ or "").strip(), f"hookspec {name} has no docstring"
    section = _section(name)
    assert section.strip(), f"docs/extending.md has no section ### `{name}`"
    assert f"| `{name}` |" in DOC, f"docs/extending.md's table of hooks does not list {name}"
    pm = new_manager(entry_points=False)
    pm.register(_example(name), name="example")        # pluggy checks the signature against the spec
    assert "example" in [i.plugin_name for i in getattr(pm.hook, name).get_hookimpls()]


def test_core_plugins_import_and_register() -> None:
    pm = new_manager(entry_points=False)
    assert {pm.get_name(p) for p in pm.get_plugins()} >= set(CORE_PLUGINS)


def _impls(pm: Any, hook: str) -> set[str]:
    return {i.plugin_name for i in getattr(pm.hook, hook).get_hookimpls()}


def test_the_core_registers_through_the_hooks() -> None:
    pm = new_manager(entry_points=False)
    assert set(delivery.channels(pm)) == {"webhook", "email", "dingtalk", "wecom"}
    assert "mom.platform.delivery" in _impls(pm, "mom_delivery_channels")
    assert set(delivery.outbox_handlers(pm)) == {"report.deliver"}
    assert "mom.engines.reports.delivery" in _impls(pm, "mom_outbox_handlers")
    assert {"mom.engines.workflow.hooks", "mom.engines.reports.summary", "mom.engines.records.attachments"} <= \
        _impls(pm, "mom_record_hooks")
    from mom.engines.packs import steps
    got = steps.registered(pm=pm)
    assert [(s.phase, s.key) for s in got] == [
        ("schema", "forms"), ("automation", "roles"), ("automation", "workflows"), ("automation", "rules"),
        ("automation", "reports"), ("automation", "dashboards"), ("automation", "prints"), ("automation", "menu"),
        ("data", "fixtures")]
    # the pack manager's slots: every definition kind is retired/restored/purged; roles only purged
    assert {s.key for s in got if s.retire and s.restore and s.purge and s.live and s.names} == {
        "forms", "workflows", "rules", "reports", "dashboards", "prints"}
    assert [s.key for s in got if s.purge and not s.retire] == ["roles"]
    assert set(connectors.connectors(pm)) == {"messaging"}


def test_record_hooks_chain_workflow_first_files_last() -> None:
    from mom.engines.records.hooks import RecordHooks

    class Extra(RecordHooks):
        pass

    class Plugin:
        @hookimpl
        def mom_record_hooks(self, forms: Any) -> RecordHooks:
            return Extra()

    pm = new_manager(entry_points=False)
    pm.register(Plugin(), name="extra")
    forms = form_registry(pm=pm)
    names = [type(p).__name__ for p in forms.hooks.parts]
    assert names[0] == "WorkflowHooks" and names[-1] == "FileHooks" and sorted(names[1:-1]) == [
        "DeviceHooks", "Extra", "InventoryHooks", "LotHooks", "MaintenanceHooks", "MrpHooks", "OeeSummaryHooks", "ProductionHooks", "QualityHooks",
        "QualityRecordHooks", "QualityTriggerHooks", "ReplenishmentRuleHooks", "SpcHooks", "SummaryHooks"]
    assert [type(p).__name__ for p in form_registry(pm=new_manager(entry_points=False)).hooks.parts] == [
        "WorkflowHooks", "MaintenanceHooks", "OeeSummaryHooks", "DeviceHooks", "QualityRecordHooks", "QualityTriggerHooks", "QualityHooks", "MrpHooks",
        "ReplenishmentRuleHooks", "LotHooks", "InventoryHooks", "ProductionHooks", "SummaryHooks", "SpcHooks", "FileHooks"]
    assert forms.hooks.flows is forms.hooks.parts[0].flows


def test_a_plugin_channel_joins_the_registry_and_unknown_keys_are_clear() -> None:
    pm = new_manager(entry_points=False)
    pm.register(_example("mom_delivery_channels"), name="andon")
    assert delivery.channel("andon", pm).label["zh-CN"] == "安灯"
    with pytest.raises(InvalidInput) as err:
        delivery.channel("emial", pm)
    assert "emial" in err.value.zh and 'did you mean "email"' in err.value.en and "andon" in err.value.en


def test_two_plugins_with_one_key_conflict() -> None:
    pm = new_manager(entry_points=False)

    class Twin:
        @hookimpl
        def mom_delivery_channels(self) -> list[Any]:
            return [delivery.DeliveryChannel("email", {"zh-CN": "邮件", "en": "E-mail"}, lambda *a: None)]

    pm.register(Twin(), name="twin")
    with pytest.raises(Conflict) as err:
        delivery.channels(pm)
    assert "email" in err.value.en and "delivery channel" in err.value.en


def test_engine_hooks_come_from_plugins() -> None:
    pm = new_manager(entry_points=False)
    # the core registers four: production.breakdown_proposal (mom.platform.replanning),
    # production.material_proposal (mom.platform.material_replanning: material late, lot blocked),
    # quality.patrol_tick (mom.engines.quality.trigger_hooks: time-based patrol inspections) and
    # maintenance.pm_tick (mom.engines.maintenance: preventive maintenance orders coming due) and
    # devices.condition_tick (mom.engines.devices.hooks: condition-based PM from machine health)
    assert set(by_key(pm.hook.mom_engine_hooks(), what=("引擎钩子", "engine hook"))) == {
        "production.breakdown_proposal", "production.material_proposal", "quality.patrol_tick", "maintenance.pm_tick",
        "devices.condition_tick"}
    pm.register(_example("mom_engine_hooks"), name="quality")
    hooks = by_key(pm.hook.mom_engine_hooks(), what=("引擎钩子", "engine hook"))
    assert hooks["quality.hold_lot"](None, {"lot": "L1"}, {}) == {"lot": "L1", "held": True}


def test_device_mappings_are_collected() -> None:
    pm = new_manager(entry_points=False)
    assert connectors.device_mappings(pm) == {}
    pm.register(_example("mom_device_mappings"), name="cnc")
    got = connectors.device_mappings(pm)
    assert isinstance(got["cnc_state"], DeviceMapping) and got["cnc_state"].topic == "plant/+/cnc/+/state"


def test_the_messaging_connector_reports_its_health_without_sending() -> None:
    pm = new_manager(entry_points=False)
    c = connectors.connectors(pm)["messaging"]
    assert "smtp_host" in c.settings and set(c.channels) == {"email", "dingtalk", "wecom", "webhook"}
    h = connectors.health(Settings(), pm)["messaging"]
    assert h["ok"] and "not configured" in h["detail"]["smtp"]
    bad = connectors.health(Settings(wecom_webhook="ftp://robot"), pm)["messaging"]
    assert not bad["ok"] and bad["detail"]["wecom"] == "not an http(s) address"


def test_mom_connector_health_runs_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from mom.platform.cli.main import main
    from mom.platform.settings import get_settings

    monkeypatch.setenv("MOM_WECOM_WEBHOOK", "ftp://robot")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(main, ["connector", "health", "--json"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 1 and json.loads(res.output)["messaging"]["detail"]["wecom"] == "not an http(s) address"
    listed = CliRunner().invoke(main, ["connector", "list"])
    assert listed.exit_code == 0 and "MOM_SMTP_HOST" in listed.output


# ---------------------------------------------------------------- the docs' examples, used
def test_the_documented_examples_work() -> None:
    """Each example does what its section says, where that is cheap to show without a database."""
    import click
    import sqlalchemy as sa
    from click.testing import CliRunner

    from mom.engines.forms import fieldtypes
    from mom.engines.forms.fieldtypes import FieldError
    from mom.engines.reports import measures
    from mom.engines.workflow.spec import validate_workflow

    pm = new_manager(entry_points=False)
    for name in SPECS:
        pm.register(_example(name), name=f"docs_{name}")
    example = pm.get_plugin("docs_mom_field_types")
    assert fieldtypes.types_of(pm).get("rating") is not None and example.coerce_rating(None, " 4 ", None) == 4
    with pytest.raises(FieldError):
        example.coerce_rating(None, "6", None)
    spec = validate_workflow({"format": "mom.workflow/1", "name": "andon_flow", "form": "f", "nodes": [
        {"id": "s", "type": "stamp", "field": "passed_at"},
        {"id": "a", "type": "action", "actions": [{"type": "andon", "color": "red"}]},
        {"id": "ok", "type": "approval", "assignees": [{"type": "initiator"}]}]}, plugins=pm)
    assert spec.nodes["s"].next == "a" and spec.nodes["a"].next == "ok"
    with pytest.raises(InvalidInput):       # the andon action's own field is checked by its schema
        validate_workflow({"format": "mom.workflow/1", "name": "andon_flow", "form": "f", "nodes": [
            {"id": "a", "type": "action", "actions": [{"type": "andon", "color": "blue"}]},
            {"id": "ok", "type": "approval", "assignees": [{"type": "initiator"}]}]}, plugins=pm)
    assert measures.registry(pm).get("range") is not None
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        handler = delivery.outbox_handlers(pm)["scan.counted"]
        assert handler(None, conn, {"code": "X1"}, now=None, event_id=1) == {"counted": "X1"}
    hooks = pm.get_plugin("docs_mom_record_hooks").mom_record_hooks(forms=None)
    with pytest.raises(Conflict):
        hooks.before_update(None, None, types.SimpleNamespace(name="supplier"), 1, {"status": "blocked"}, {}, {}, None)
    from mom.platform import file_access
    assert file_access.owners(pm)["lot_label"].readable(None, None, types.SimpleNamespace(id=7), None) is True
    from mom.engines.packs import steps
    label = {s.key: s for s in steps.registered(pm=pm)}["labels"]
    assert label.install(None, "labels/zebra.json", {"name": "zebra"}) == "label printer zebra"
    assert connectors.health(Settings(), pm)["kingdee"]["ok"]
    from mom.platform.cli.main import add_plugin_commands

    group = click.Group()
    add_plugin_commands(group, pm)
    assert CliRunner().invoke(group, ["hello"]).output == "你好 / hello\n"


# ---------------------------------------------------------------- one bad plug-in
def test_a_clash_names_both_plugins() -> None:
    pm = new_manager(entry_points=False)
    pm.register(_example("mom_delivery_channels"), name="andon_one")
    pm.register(_example("mom_delivery_channels"), name="andon_two")
    with pytest.raises(Conflict) as err:
        delivery.channels(pm)
    assert "andon_one" in err.value.en and "andon_two" in err.value.en and "andon" in err.value.zh
    assert by_key([[delivery.channels(new_manager(entry_points=False))["email"]]], what=("投递渠道", "delivery channel"))


def test_the_worker_refuses_to_start_with_two_channels_of_one_key() -> None:
    import sqlalchemy as sa

    from mom.platform.worker import Worker

    pm = new_manager(entry_points=False)
    pm.register(_example("mom_delivery_channels"), name="andon_one")
    pm.register(_example("mom_delivery_channels"), name="andon_two")
    with pytest.raises(Conflict) as err:
        Worker(sa.create_engine("sqlite://"), Settings(), plugins=pm)
    assert "andon_one" in err.value.en and "andon_two" in err.value.en


def test_a_command_taken_twice_is_one_error_line_naming_both() -> None:
    import click
    from click.testing import CliRunner

    from mom.platform.cli import main as cli_main

    class Twin:
        @hookimpl
        def mom_cli_commands(self) -> list[Any]:
            return [click.Command("form", callback=lambda: None)]

    pm = new_manager(entry_points=False)
    pm.register(Twin(), name="acme_forms")
    group = cli_main.PluginGroup("mom")
    original = cli_main.add_plugin_commands
    try:
        cli_main.add_plugin_commands = lambda g: original(g, pm)
        res = CliRunner().invoke(group, ["--help"])
    finally:
        cli_main.add_plugin_commands = original
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("错误 / error [conflict]:")
    assert "acme_forms" in res.output and "mom.platform.cli.form_cmds" in res.output


def _distribution(root: Path, name: str, module_source: str) -> None:
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[mom]\n{name} = {name}_plugin\n", encoding="utf-8")
    (root / f"{name}_plugin.py").write_text(module_source, encoding="utf-8")


def test_an_entry_point_that_fails_to_import_stops_the_start_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mom.platform.plugins import PluginLoadError

    _distribution(tmp_path, "acme_broken", "import acme_missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginLoadError) as err:
        new_manager()
    text = f"{err.value.zh} {err.value.en}"
    assert "acme_broken" in text and "ModuleNotFoundError" in text and "acme_missing_dependency_xyz" in text
    monkeypatch.setenv("MOM_SKIP_PLUGINS", "acme_broken")
    assert new_manager().get_plugin("acme_broken") is None


# ---------------------------------------------------------------- a pack's hooks.py
def _pack(root: Path, name: str, hooks: str) -> Path:
    root.mkdir()
    (root / "pack.json").write_text(f'{{"format": "mom.pack/1", "name": "{name}", "version": "1.0.0"}}', encoding="utf-8")
    (root / "hooks.py").write_text(hooks, encoding="utf-8")
    return root


def test_a_pack_hooks_py_that_fails_names_the_pack_file_and_line(tmp_path: Path) -> None:
    from mom.engines.packs import loader

    bad = _pack(tmp_path / "bad", "labels_bad", "x = 1\ndef oops(:\n")
    with pytest.raises(InvalidInput) as err:
        loader.load(bad, pm=new_manager(entry_points=False))
    assert "labels_bad" in err.value.zh and f"{bad / 'hooks.py'}:2" in err.value.en and "SyntaxError" in err.value.en
    raising = _pack(tmp_path / "raising", "labels_raise", "x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(InvalidInput) as err:
        loader.load(raising, pm=new_manager(entry_points=False))
    assert f"{raising / 'hooks.py'}:2" in err.value.en and "RuntimeError: boom" in err.value.en


def test_two_pack_folders_with_one_name_conflict_and_names_are_checked(tmp_path: Path) -> None:
    from mom.engines.packs import loader

    pm = new_manager(entry_points=False)
    first = _pack(tmp_path / "one", "twin_pack", "")
    loader.load(first, pm=pm)
    loader.load(first, pm=pm)                              # the same folder again: fine
    with pytest.raises(Conflict) as err:
        loader.load(_pack(tmp_path / "two", "twin_pack", ""), pm=pm)
    assert str(first) in err.value.en and str(tmp_path / "two") in err.value.en
    with pytest.raises(InvalidInput) as err:
        loader.load(_pack(tmp_path / "three", "my.pack v2", ""), pm=pm)
    assert "my.pack v2" in str(err.value) and "pack.json/name" in str(err.value)
