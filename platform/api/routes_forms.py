"""Form definitions: list, read, plan, publish, versions, diff, retired fields and purge; keys made
from labels for the designers."""
from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from mom.engines.definitions.keys import make_keys
from mom.engines.forms import store
from mom.engines.forms.definition import EXTRA_NAMES, SQL_RESERVED, MissingFieldType, form_name_problem, form_schema
from mom.engines.forms.model import CHILD_SYSTEM_COLUMNS, SYSTEM_COLUMNS, text_of
from mom.engines.packs.formwords import blockers as plan_blockers
from mom.engines.packs.formwords import describe as plan_words
from mom.engines.records.access import form_access, granting_entries, holds_task_on, refusal
from mom.engines.records.engine_writes import engine_only, offered
from mom.engines.reports import store as report_store
from mom.engines.workflow import store as workflow_store
from mom.platform.api.deps import AdminDep, ActorDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS, FormRead, FormSummaryRead
from mom.platform.auth import grants
from mom.platform.api.params import MAX_NAME, PathName, PathVersion, Version
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InvalidInput, NotFound

router = APIRouter(prefix="/api", tags=["forms"], responses=ERRORS)


def _can_design(conn: Any, registry: Any, actor: Any, name: str) -> None:
    if actor.is_admin:
        return
    try:
        compiled = registry.get(conn, name)
    except NotFound:
        raise AccessDenied("只有管理员可以新建表单", "only administrators can create forms") from None
    except MissingFieldType as exc:   # a plug-in's type is gone: its designers may still publish the fix
        if _may_design_raw(exc.raw, actor):
            return
        raise
    if not form_access(compiled, actor).can("design"):
        raise AccessDenied(f"没有设计表单 {name} 的权限", f"you may not design form {name}")


def _may_design_raw(raw: Any, actor: Any) -> bool:
    """The actor may design a form whose definition cannot be compiled (read from its stored permissions)."""
    if actor.is_admin:
        return True
    perms = raw.get("permissions") if isinstance(raw, dict) else None
    return any("design" in (p.get("actions") or []) for p in granting_entries(perms, actor))


@router.get("/schema/form", summary="The JSON Schema of form definitions (mom.form/1)")
def get_form_schema() -> dict[str, Any]:
    return form_schema()


@router.get("/forms", summary="Published forms the caller may read", responses={200: {"model": list[FormSummaryRead]}})
def list_forms(engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> list[dict[str, Any]]:
    out = []
    with read_tx(engine) as conn:
        for name in store.form_names(conn):
            try:
                compiled = registry.get(conn, name)
            except MissingFieldType as exc:   # listed, flagged, to those who may design it; the rest stand
                raw = exc.raw
                if _may_design_raw(raw, actor):
                    out.append({"name": name, "label": text_of(raw.get("label"), name), "version": exc.detail["version"],
                                "actions": ["design"], "problem": {"zh-CN": exc.zh, "en": exc.en}})
                continue
            access = form_access(compiled, actor)
            if access.can("read") or access.can("create"):
                out.append({"name": name, "label": compiled.definition.label, "version": compiled.version,
                            "actions": sorted(offered(conn, registry, compiled, access.actions))})
    return out


@router.get("/forms/{name}", summary="The current definition of a form, as the caller may see it",
            responses={200: {"model": FormRead}})
def get_form(name: PathName, engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        try:
            compiled = registry.get(conn, name)
        except MissingFieldType as exc:
            raw = exc.raw
            if not _may_design_raw(raw, actor):
                raise
            # the stored definition as it is, so that it can be fixed or exported; records wait for the fix
            return {"name": name, "version": exc.detail["version"], "definition": raw, "actions": ["design"],
                    "read_only_fields": [], "display_field": raw.get("display_field"),
                    "warning": {"zh-CN": exc.zh, "en": exc.en}, "problems": [p.as_dict() for p in exc.problems]}
        access = form_access(compiled, actor)
        if not access.actions and holds_task_on(conn, name, actor):   # an approver opening a record from the inbox
            access = replace(access, actions=frozenset({"read"}))
        reserved = engine_only(conn, registry, compiled)      # only its engine writes them: offered to nobody
    if not access.actions:     # it exists: a refusal, not "does not exist"
        raise refusal(name, access.label, "read")
    raw = dict(compiled.definition.raw)
    raw["fields"] = [f for f in raw["fields"] if access.visible(f["key"])]
    if not access.can("design"):
        raw.pop("permissions", None)
    return {"name": name, "version": compiled.version, "definition": raw, "actions": sorted(access.actions - reserved),
            "read_only_fields": sorted(access.read_only), "display_field": compiled.definition.display_field,
            "engine_only": sorted(reserved)}


@router.post("/forms/plan", summary="Validate a definition and show the migration plan; nothing is written")
def plan_form(engine: EngineDep, registry: RegistryDep, actor: ActorDep, definition: Annotated[Any, Body()]) -> dict[str, Any]:
    with read_tx(engine) as conn:
        if isinstance(definition, dict) and isinstance(definition.get("name"), str):
            _can_design(conn, registry, actor, definition["name"])
        elif not actor.is_admin:
            raise AccessDenied("需要管理员权限", "administrator rights are required")
        _, plan = store.plan_form(conn, definition)
        cur = store.current(conn, plan.form) if plan.from_version else None
    old = dict(cur[0].raw) if cur else None
    words = plan_words(plan.operations, definition, old, metadata=True)
    return plan.as_dict() | {"text": {"zh-CN": plan.describe("zh-CN"), "en": plan.describe("en")}, "words": words,
                             "blockers": plan_blockers(plan.operations, definition, old)}


@router.put("/forms/{name}", summary="Publish a definition: plan and apply in one transaction")
def publish_form(name: PathName, engine: EngineDep, registry: RegistryDep, actor: ActorDep,
                 definition: Annotated[Any, Body()]) -> dict[str, Any]:
    with write_tx(engine) as conn:
        _can_design(conn, registry, actor, name)      # the right first: a refused caller learns nothing of the body's checks
        if not isinstance(definition, dict) or definition.get("name") != name:
            raise InvalidInput(f"定义中的 name 必须是 {name}", f"the definition's name must be {name}")
        # a new form that names no permissions gets the default (everyone fills in, reads their own)
        definition, defaulted = grants.with_default(conn, definition)
        plan, compiled = store.publish(conn, definition, actor_id=actor.id)
    out = plan.as_dict() | {"version": plan.to_version}
    if defaulted:
        out["permissions_defaulted"] = definition["permissions"]
    return out


@router.get("/forms/{name}/versions", summary="Every published version of a form")
def form_versions(name: PathName, engine: EngineDep, actor: AdminDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        rows = store.versions(conn, name)
    if not rows:
        raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist")
    return [{**r, "published_at": r["published_at"].isoformat()} for r in rows]


@router.get("/forms/{name}/versions/{version}", summary="One published version's definition")
def form_version(name: PathName, version: PathVersion, engine: EngineDep, actor: AdminDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return store.version_definition(conn, name, version)


@router.get("/forms/{name}/diff", summary="What changed between two versions")
def form_diff(name: PathName, engine: EngineDep, actor: AdminDep, from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
              to: Version) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return store.diff_versions(conn, name, from_, to)


@router.get("/forms/{name}/retired", summary="Retired fields whose data is kept (restorable)")
def retired(name: PathName, engine: EngineDep, actor: AdminDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return store.retired_fields(conn, name)


@router.post("/forms/{name}/fields/{field_id}/purge", summary="Destroy a retired field's data (irreversible)")
def purge(name: PathName, field_id: PathName, engine: EngineDep, actor: AdminDep,
          confirm: Annotated[str, Query(max_length=MAX_NAME, description="must repeat the field id")] = "") -> dict[str, Any]:
    if confirm != field_id:
        raise InvalidInput(f"清除不可恢复：请加 ?confirm={field_id} 确认", f"purging is irreversible: add ?confirm={field_id} to confirm")
    with write_tx(engine) as conn:
        return store.purge_field(conn, name, field_id)


class KeysIn(BaseModel):
    kind: Literal["form", "field", "option", "flow", "report", "dashboard"] = Field(
        description="what the keys name: form, field, option (a choice's stored value), flow, report, dashboard")
    labels: list[Annotated[str, Field(max_length=200)]] = Field(max_length=500, description="the labels, in order")
    taken: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=list, max_length=5000, description="keys already used in the same scope (other fields of the form …)")
    in_table: bool = Field(False, description="fields of a detail table (its own reserved columns)")


def _reserved(kind: str, in_table: bool):
    if kind == "form":
        return lambda k: form_name_problem(k) is not None or k in EXTRA_NAMES
    if kind == "field":
        system = set(CHILD_SYSTEM_COLUMNS if in_table else SYSTEM_COLUMNS) | {"parent"}
        return lambda k: k in system or k in SQL_RESERVED or k in EXTRA_NAMES
    if kind == "option":
        return lambda _k: False
    return lambda k: k in SQL_RESERVED


def _published(conn: Any, kind: str) -> list[str]:
    if kind == "form":
        return store.form_names(conn, retired=True)
    if kind == "flow":
        return workflow_store.workflow_names(conn)
    if kind in ("report", "dashboard"):
        return report_store.names(conn, kind, retired=True)
    return []


@router.post("/designer/keys", summary="Keys made from labels (pinyin), unique in their scope: no English typed")
def designer_keys(body: KeysIn, engine: EngineDep, actor: ActorDep) -> dict[str, Any]:
    """Form, flow, report and dashboard names also avoid the published ones (for administrators, who
    create them; others learn of a clash when they publish)."""
    taken = list(body.taken)
    if actor.is_admin and body.kind in ("form", "flow", "report", "dashboard"):
        with read_tx(engine) as conn:
            taken += _published(conn, body.kind)
    keys = make_keys(body.labels, kind=body.kind, taken=taken, reserved=_reserved(body.kind, body.in_table))
    return {"keys": keys}
