"""Files: upload an attachment, download any stored file (attachments, workflow comment files,
delivered report files) by its public id, only for those who may read what it belongs to."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Path as PathParam, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from mom.platform import file_access, files
from mom.platform.api.deps import ActorDep, EngineDep, RegistryDep, SettingsDep
from mom.platform.api.models import ERRORS
from mom.platform.api.textinput import check_text
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import TooLarge

router = APIRouter(prefix="/api", tags=["files"], responses=ERRORS)

FileId = Annotated[str, PathParam(max_length=64, description="文件的公开编号（上传时返回的 id）/ the file's public id (returned by the upload)")]


@router.post("/attachments", status_code=201,
             summary="Upload a file; its id goes into attachment fields or comments (readable by you alone until saved)")
def upload(file: Annotated[UploadFile, File()], actor: ActorDep, engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    check_text(file.filename, "/file/filename", "文件名", "the file name")
    check_text(file.content_type, "/file/content_type", "文件类型", "the file's content type")
    h = hashlib.sha256()
    size = 0
    tmp_dir = files.store_dir(settings) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as out:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > settings.max_attachment_bytes:
                out.close()
                Path(out.name).unlink(missing_ok=True)
                mb = settings.max_attachment_bytes // 1048576
                raise TooLarge(f"文件超过 {mb} MB；请压缩或拆分后再上传", f"file larger than {mb} MB; compress or split it and upload again")
            h.update(chunk)
            out.write(chunk)
    digest = h.hexdigest()
    final = files.path_of(settings, digest)
    final.parent.mkdir(parents=True, exist_ok=True)
    Path(out.name).replace(final)
    content_type = file.content_type or "application/octet-stream"
    with write_tx(engine) as conn:
        stored = files.register(conn, digest, size, filename=file.filename or "file", content_type=content_type,
                                created_by=actor.id)
    return {"id": stored.token, "sha256": digest, "size": size, "filename": file.filename, "content_type": content_type}


@router.get("/attachments/{file_id}/meta",
            summary="A file's name, size and type, for whoever may download it (404 otherwise, as for a missing one)")
def meta(file_id: FileId, actor: ActorDep, engine: EngineDep, registry: RegistryDep) -> dict[str, Any]:
    """What a file chip shows (the name and size of a saved record's attachment), under the download's read check."""
    with read_tx(engine) as conn:
        row = file_access.readable_file(conn, registry, actor, file_id)
    return {"id": row.token, "filename": row.filename, "size": row.size, "content_type": row.content_type}


@router.get("/attachments/{file_id}", summary="Download a file you may read (404 for a file you may not read, as for a missing one)",
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def download(file_id: FileId, actor: ActorDep, engine: EngineDep, registry: RegistryDep,
                   settings: SettingsDep) -> FileResponse:
    def find() -> Any:
        with read_tx(engine) as conn:
            return file_access.readable_file(conn, registry, actor, file_id)

    row = await run_in_threadpool(find)
    path = files.path_of(settings, row.sha256)
    if not path.exists():
        raise file_access.not_found(file_id)
    return FileResponse(path, media_type=row.content_type, filename=row.filename)
