"""The one error SPC raises."""
from __future__ import annotations

from mom.platform.errors import MomError


class SpcError(MomError, ValueError):
    """Data or settings an SPC chart cannot use (422 ``invalid_input``); still a ValueError for callers."""

    code = "invalid_input"
