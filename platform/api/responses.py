"""Responses for hot paths whose content is already plain JSON values."""
from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from mom.platform.db.engine import json_dumps


class JSONBytes(JSONResponse):
    """``JSONResponse`` encoded with orjson (through :func:`json_dumps`, which also takes decimals
    and dates): several times faster than the standard encoder for record documents."""

    def render(self, content: Any) -> bytes:
        return json_dumps(content).encode()
