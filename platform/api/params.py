"""Typed, bounded path and query parameters shared by every router: an id is a positive 64-bit
integer, so a huge or negative number answers 422 naming the parameter instead of reaching the database."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1   # the largest BIGINT on PostgreSQL and INTEGER on SQLite

#: a record, attachment, task, instance, token, version … id in a path
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="正整数编号 / positive integer id")]
#: a version number in a path
PathVersion = Annotated[int, Path(ge=1, le=2**31 - 1, description="版本号 / version number")]
#: paging
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="跳过的条数 / rows to skip")]
Limit = Annotated[int, Query(ge=1, le=1000, description="每页条数 / rows per page")]
