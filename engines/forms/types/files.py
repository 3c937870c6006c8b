"""The ``attachment`` field type: a list of uploaded files' public ids (``/api/attachments``)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import FieldError, FieldType
from mom.engines.forms.model import FieldSpec
from mom.engines.forms.types.choice import json_list_sql

FILE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def coerce_attachments(f: FieldSpec, v: Any, tz: dt.tzinfo) -> list[str | int]:
    """Public file ids (the ``id`` the upload returned); several may be given as one text separated by
    commas. An integer is kept as it is and later answered "not found" (integer ids are internal)."""
    items = v if isinstance(v, list) else [x for x in re.split(r"[,\s]+", v) if x] if isinstance(v, str) else [v]
    out: list[str | int] = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        elif isinstance(item, str) and FILE_ID.fullmatch(item.strip()):
            out.append(item.strip())
        else:
            shown = repr(item)[:80]
            raise FieldError(f"附件应为上传文件时返回的 id（先上传到 /api/attachments）：{shown}",
                             f"attachments are the ids the upload returned (upload to /api/attachments first): {shown}")
    if len(out) > int(f.raw.get("max_files", 10)):
        raise FieldError(f"附件最多 {f.raw.get('max_files', 10)} 个", f"at most {f.raw.get('max_files', 10)} files")
    return out


ATTACHMENT = FieldType("attachment", column=lambda f: sa.JSON(), coerce=coerce_attachments, family="file",
                       lookup=True, files=True, json_list=True, json_sql=json_list_sql)
