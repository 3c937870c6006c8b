"""The devices engine's record hooks: every write path (API, import, form buttons) obeys them.

- ``machine_state`` 设备状态, ``machine_count`` 设备计数 and ``process_value`` 工艺参数 are written only by the
  ingestion engine (like core's stock ledger): a person's create or delete is refused in words; on a state
  row a person may set only 停机原因 ``stop_reason`` and 备注 ``note`` (an open or a closed stop), a reason
  that fits the state, operators only on recent stops (engines/devices/classify.py);
- ``device_alarm`` 设备报警 is raised by the engine; people acknowledge / close it (状态, 处理说明) only;
- ``device_mapping`` 设备数据映射 is checked on save (topic pattern, every expression, limits), each
  problem naming the row and field; a wrong mapping is not saved.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.devices import classify
from mom.engines.devices import forms as F
from mom.engines.devices import mapping as M
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.engines.records.service import load_children
from mom.platform.errors import Conflict
from mom.platform.hookspecs import hookimpl

_PEOPLE = {F.STATE: ("stop_reason", "note"), F.ALARM: ("status", "note")}
_WHAT = {F.STATE: ("设备状态由设备数据自动记录", "machine states are recorded from the machines' data"),
         F.COUNT: ("设备计数由设备数据按分钟自动累计", "machine counts are added up per minute from the machines' data"),
         F.VALUE: ("工艺参数由设备数据按分钟自动汇总", "process values are summarised per minute from the machines' data"),
         F.ALARM: ("设备报警由工艺参数超限时自动产生", "device alarms are raised when a process value leaves its limits")}


def _label(compiled: CompiledForm, key: str) -> str:
    f = compiled.definition.field(key)
    return str(f.label.get("zh-CN") or key) if f is not None else key


class DeviceHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _guarded(self, conn: Connection, compiled: CompiledForm) -> bool:
        return compiled.name in F.ENGINE_ONLY and not F.engine_writing(conn) and F.owned(conn, compiled)

    def engine_only(self, conn: Connection, compiled: CompiledForm) -> frozenset[str]:
        """Machine data comes from the machines: never created, imported or deleted by hand; counts and process
        values not edited either (a state takes its stop reason, an alarm its acknowledgement)."""
        if compiled.name not in F.ENGINE_ONLY or not F.owned(conn, compiled):
            return frozenset()
        return frozenset({"create", "import", "delete"} | (set() if compiled.name in _PEOPLE else {"update"}))

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if self._guarded(conn, compiled):
            zh, en = _WHAT[compiled.name]
            raise Conflict(f"{zh}，不能手工新建", f"{en}, never created by hand")

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == F.MAPPING and F.owned(conn, compiled):
            self._check_mappings(conn, compiled, rows)

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if not self._guarded(conn, compiled):
            return
        changed = {k for k in patched if new.get(k) != old.get(k)}
        allowed = _PEOPLE.get(compiled.name, ())
        bad = sorted(k for k in changed if k not in allowed)
        if bad:
            zh, en = _WHAT[compiled.name]
            if allowed:
                may = "、".join(_label(compiled, k) for k in allowed)
                raise Conflict(f"{zh}，「{'、'.join(_label(compiled, k) for k in bad)}」不能手工修改；只能填写{may}",
                               f"{en}; {', '.join(bad)} are not changed by hand, only {', '.join(allowed)}",
                               detail={"fields": bad})
            raise Conflict(f"{zh}，不能手工修改", f"{en}, never changed by hand")
        if compiled.name == F.STATE and "stop_reason" in changed:
            classify.check(conn, self.forms, ctx, old, new.get("stop_reason"))

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name == F.MAPPING and F.owned(conn, compiled):
            self._check_mappings(conn, compiled, [{**new, "id": record_id}])

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if self._guarded(conn, compiled):
            zh, en = _WHAT[compiled.name]
            raise Conflict(f"{zh}，不能删除", f"{en}, never deleted")

    def _check_mappings(self, conn: Connection, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        """Checked after the rows are written (their 工艺参数 rows with them): a problem rolls the save back."""
        ids = [int(r["id"]) for r in rows]
        tags = load_children(conn, compiled, ids, ["tags"])
        problems = []
        for i, r in enumerate(rows):
            prefix = f"/{i}" if len(rows) > 1 else ""
            problems += M.check(r, tags[int(r["id"])]["tags"], prefix=prefix)
        M.raise_problems(problems, str(rows[0].get("code") or "") if len(rows) == 1 else None)


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Devices: machine states, counts, process values and alarms engine-only; device mappings checked on save."""
    return DeviceHooks(forms)


@hookimpl
def mom_engine_hooks() -> dict[str, Any]:
    """``devices.condition_tick``: condition-based PM orders from machine health (状态触发的保养开单)."""
    from mom.engines.devices.condition_pm import condition_tick
    return {"devices.condition_tick": condition_tick}
