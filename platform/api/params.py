"""Typed, bounded path and query parameters shared by every router: an id is a positive 64-bit
integer, so a huge or negative number answers 422 naming the parameter instead of reaching the database."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from mom.platform.errors import InvalidInput, Problem

MAX_ID = 2**63 - 1   # the largest BIGINT on PostgreSQL and INTEGER on SQLite

#: a record, attachment, task, instance, token, version … id in a path
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="正整数编号 / positive integer id")]
#: the id of a user or token (32-bit columns on PostgreSQL: a larger number would overflow there)
MAX_ID32 = 2**31 - 1
PathSmallId = Annotated[int, Path(ge=1, le=MAX_ID32, description="用户/令牌编号 / user or token id")]
QuerySmallId = Annotated[int | None, Query(ge=1, le=MAX_ID32, description="用户编号 / user id")]
#: a version number in a path
PathVersion = Annotated[int, Path(ge=1, le=2**31 - 1, description="版本号 / version number")]
#: paging
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="跳过的条数 / rows to skip")]
Limit = Annotated[int, Query(ge=1, le=1000, description="每页条数 / rows per page")]

# issue 16 item 7: every path and query parameter typed and bounded (docs/api.md "Parameter bounds").
MAX_NAME = 64       # form, report, workflow, rule, view … names (definition keys are at most 30)
MAX_TEXT = 200      # free text in a query (search, status, codes)

#: a definition or item name in a path (forms, reports, workflows, fields, actions, views)
PathName = Annotated[str, Path(min_length=1, max_length=MAX_NAME, description="名称 / name")]
#: an optional id in a query (?record_id=)
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="正整数编号 / positive integer id")]
#: an optional version in a query (?version=)
QueryVersion = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="版本号 / version number")]
#: a required version in a query (?from=&to=)
Version = Annotated[int, Query(ge=1, le=2**31 - 1, description="版本号 / version number")]
#: an optional name in a query (?form=, ?workflow=, ?report=)
QueryName = Annotated[str | None, Query(max_length=MAX_NAME, description="名称 / name")]
#: short free text in a query (?q=, ?status=, ?box=)
QueryText = Annotated[str, Query(max_length=MAX_TEXT, description="文字 / text")]
OptText = Annotated[str | None, Query(max_length=MAX_TEXT, description="文字 / text")]
#: a number in a query that is a measurement (SPC limits): finite
QueryNumber = Annotated[float | None, Query(allow_inf_nan=False, ge=-1e15, le=1e15, description="数值 / number")]
MAX_IDS = 500


def id_list(raw: str, name: str, *, most: int = MAX_IDS, largest: int = MAX_ID) -> list[int]:
    """``"1,2,3"`` as ids; anything else answers 422 naming ``name`` (``"²"`` is a digit to Python, not an id)."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    bad = [p for p in parts if not (p.isascii() and p.isdigit() and len(p) <= 19 and 1 <= int(p) <= largest)]
    if bad or len(parts) > most:
        zh = f"应为逗号分隔的正整数编号（最多 {most} 个）" + (f"；{bad[0][:20]!r} 不是" if bad else "")
        en = f"must be comma-separated positive integer ids (at most {most})" + (f"; {bad[0][:20]!r} is not one" if bad else "")
        raise InvalidInput(f"参数 {name} {zh}", f"parameter {name} {en}", problems=[Problem(f"/{name}", zh, en, "type")])
    return [int(p) for p in parts]


def body_id(value: object, path: str, *, largest: int = MAX_ID) -> int:
    """An id given in a JSON body (``record_id``, ``ids/0``): a positive 64-bit integer, else 422 at ``path``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 19)):
        ok = False
    else:
        ok = 1 <= int(value) <= largest
    if not ok:
        raise InvalidInput(f"{path} 应为正整数编号", f"{path} must be a positive integer id",
                           problems=[Problem(path, "应为正整数编号", "must be a positive integer id", "type")])
    return int(value)  # type: ignore[arg-type]


def json_object(body: Any) -> dict[str, Any]:
    """An optional JSON object body (action routes): nothing is ``{}``; anything but an object is a 422."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象", "the request body must be a JSON object")
    return body
