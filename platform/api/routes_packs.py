"""Model packs (administrators): list and show, plan, install / upgrade / uninstall against the plan's
hash, upload a pack ``.zip``, export the plant's own configuration as one.

Nothing changes without a plan: ``POST /api/packs/{name}/plan`` answers what an action would do (and a
hash of it); ``POST /api/packs/{name}/install|upgrade|uninstall`` carries it out only when ``confirm`` is
that hash and the server's fresh plan still has it (otherwise 409 with the fresh plan in ``detail.plan``).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Path as PathParam, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from mom.engines.forms import fieldtypes
from mom.engines.packs import archive, manager
from mom.platform.api.deps import AdminDep, EngineDep, SettingsDep
from mom.platform.api.models import ERRORS, ErrorRead
from mom.platform.api.textinput import check_text
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem, TooLarge

router = APIRouter(prefix="/api", tags=["packs"], responses=ERRORS)

PackName = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$",
                                    description="模型包名称 / pack name")]
Action = Literal["install", "upgrade", "uninstall"]


class PlanBody(BaseModel):
    """What to plan: the action and its options."""

    model_config = ConfigDict(extra="forbid")
    action: Action = Field(description="install | upgrade | uninstall")
    demo: bool = Field(default=False, description="安装时同时载入演示数据 / install: load the demo data too")
    purge: bool = Field(default=False, description="卸载时同时删除数据 / uninstall: delete the data too")


class RunBody(BaseModel):
    """Carry out the plan whose hash is ``confirm`` (from ``POST /api/packs/{name}/plan``)."""

    model_config = ConfigDict(extra="forbid")
    confirm: str | None = Field(default=None, max_length=128, description="计划的 hash / the plan's hash")
    demo: bool = False
    purge: bool = False


class ExportBody(BaseModel):
    """The pack to write the plant's own definitions into."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="plant_config", max_length=64, description="包名 / pack name (a-z, 0-9, _)")
    version: str = Field(default="1.0.0", max_length=64, description="版本 / version (MAJOR.MINOR.PATCH)")
    label: dict[str, Annotated[str, Field(max_length=200)]] | None = Field(default=None, description='{"zh-CN": …, "en": …}')


def _tz(settings: Any) -> Any:
    return fieldtypes.plant_tz(settings.timezone)


@router.get("/packs", summary="Every pack found (built in, on MOM_PACK_PATH, uploaded) or installed, with its state")
def list_packs(engine: EngineDep, settings: SettingsDep, _admin: AdminDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"packs": manager.available(conn, settings=settings)}


@router.get("/packs/{name}", summary="One pack: state, versions, what it installed (customised? retired?) and changed files")
def show_pack(name: PackName, engine: EngineDep, settings: SettingsDep, _admin: AdminDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return manager.show(conn, name, settings=settings)


@router.post("/packs/{name}/plan", summary="What an install, upgrade or uninstall would do (rehearsed, nothing is written)")
def plan_pack(name: PackName, body: Annotated[PlanBody, Body()], engine: EngineDep, settings: SettingsDep,
              _admin: AdminDep) -> dict[str, Any]:
    p = manager.plan(engine, body.action, name, forms_factory=form_registry, demo=body.demo, purge=body.purge,
                     tz=_tz(settings), settings=settings)
    return p.as_dict()


def _run(action: str, name: str, body: RunBody, engine: Any, settings: Any, actor_id: int) -> dict[str, Any]:
    if not body.confirm:
        zh = "缺少确认：请先查看计划，确认无误后再执行（用计划的编号确认）"
        en = f"confirm is missing: get the plan first (POST /api/packs/{name}/plan) and send its hash as confirm"
        raise InvalidInput(zh, en, problems=[Problem("/confirm", "必填：计划的编号", "required: the plan's hash", "missing")])
    p, lines = manager.execute(engine, body.confirm, action, name, forms_factory=form_registry, demo=body.demo,
                               purge=body.purge, actor_id=actor_id, tz=_tz(settings), settings=settings)
    return {"plan": p.as_dict(), "lines": lines}


_RUN_DOC = {409: {"model": ErrorRead, "description": "the plan changed since it was shown, or it is blocked: "
                                                     "detail.plan is the fresh plan"}}


@router.post("/packs/{name}/install", summary="Install a pack (and its missing dependencies) as the confirmed plan says",
             responses=_RUN_DOC)
def install_pack(name: PackName, body: Annotated[RunBody, Body()], engine: EngineDep, settings: SettingsDep,
                 admin: AdminDep) -> dict[str, Any]:
    return _run("install", name, body, engine, settings, admin.id)


@router.post("/packs/{name}/upgrade", summary="Upgrade an installed pack, keeping the plant's changes, as the confirmed plan says",
             responses=_RUN_DOC)
def upgrade_pack(name: PackName, body: Annotated[RunBody, Body()], engine: EngineDep, settings: SettingsDep,
                 admin: AdminDep) -> dict[str, Any]:
    return _run("upgrade", name, body, engine, settings, admin.id)


@router.post("/packs/{name}/uninstall", summary="Uninstall a pack (its definitions retired, data kept; purge: deleted) "
             "as the confirmed plan says", responses=_RUN_DOC)
def uninstall_pack(name: PackName, body: Annotated[RunBody, Body()], engine: EngineDep, settings: SettingsDep,
                   admin: AdminDep) -> dict[str, Any]:
    return _run("uninstall", name, body, engine, settings, admin.id)


@router.post("/packs/upload", summary="Upload a pack .zip (the pack folder, at the zip's root or in one top folder); "
             "then plan and install it by name", responses={413: {"model": ErrorRead, "description": "over an upload limit"}})
def upload_pack(file: Annotated[UploadFile, File()], engine: EngineDep, settings: SettingsDep, _admin: AdminDep) -> dict[str, Any]:
    check_text(file.filename, "/file/filename", "文件名", "the file name")
    limit = settings.pack_upload_max_bytes
    with tempfile.SpooledTemporaryFile(max_size=4 << 20) as buf:
        size = 0
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                mb = max(1, limit // 1048576)
                raise TooLarge(f"模型包文件超过 {mb} MB；请检查是否打包了多余的文件",
                               f"the pack file is larger than {mb} MB; check for stray files in it")
            buf.write(chunk)
        if size == 0:
            raise InvalidInput("上传的文件是空的：请选择模型包的 .zip 文件", "the uploaded file is empty: choose a pack .zip",
                               problems=[Problem("/file", "空文件", "empty file", "empty")])
        src = archive.unpack(buf, Path(settings.data_dir) / "packs", allow_code=settings.pack_upload_code,
                             max_bytes=settings.pack_max_unpacked_bytes, max_files=settings.pack_max_files,
                             accept=lambda candidate: archive.check_upload(candidate, engine, settings))
    return {"name": src.name, "version": str(src.version), "label": src.label}


_VERSION_SAFE = re.compile(r"^[0-9A-Za-z.+-]+$")


def _label(raw: dict[str, str] | None) -> dict[str, str] | None:
    if raw is None:
        return None
    unknown = sorted(set(raw) - {"zh-CN", "en"})
    zh = (raw.get("zh-CN") or "").strip()
    if unknown or not zh:
        raise InvalidInput("显示名须有中文（zh-CN），可另给英文（en）", 'the label needs "zh-CN" (and may have "en")',
                           problems=[Problem("/label", "须有中文显示名", 'needs "zh-CN"', "label")])
    return {"zh-CN": zh, "en": (raw.get("en") or "").strip() or zh}


@router.post("/packs/export", summary="The plant's own configuration (definitions no installed pack owns) as a pack .zip",
             response_class=Response,
             responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def export_pack(body: Annotated[ExportBody, Body()], engine: EngineDep, _admin: AdminDep) -> Response:
    label = _label(body.label)
    with tempfile.TemporaryDirectory(prefix="mom-export-") as tmp:
        out = Path(tmp) / "pack"
        with read_tx(engine) as conn:
            result = manager.export(conn, name=body.name, out=out, version=body.version, label=label)
        data = archive.pack_zip(out)
    version = result["version"] if _VERSION_SAFE.match(str(result["version"])) else "1.0.0"
    filename = f"{result['name']}-{version}.zip"
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
