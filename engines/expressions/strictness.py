"""Checks that a definition must pass when it is published, but that a definition already stored must
not fail when it is loaded again.

The rules grow stricter over time (constant sub-expressions evaluated at validation, reserved form
names, trial renders of templates). A form, flow, rule or report published under older rules stays
loadable after an upgrade, so its records, tasks and answers never become unreachable: its formula
that can never work fails per record (shown on the record), not at load. Loaders of stored
definitions wrap their validation in :func:`stored_definitions`; everything else is a publish."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LOADING_STORED: ContextVar[bool] = ContextVar("mom_loading_stored_definition", default=False)


def publishing() -> bool:
    """True unless a stored definition is being loaded: publish-only checks run."""
    return not _LOADING_STORED.get()


@contextmanager
def stored_definitions() -> Iterator[None]:
    """Validate and compile definitions read back from the database: publish-only checks are skipped."""
    token = _LOADING_STORED.set(True)
    try:
        yield
    finally:
        _LOADING_STORED.reset(token)
