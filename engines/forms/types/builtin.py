"""Registers the built-in field types through the same hook a plug-in uses (listed in CORE_PLUGINS)."""
from __future__ import annotations

from mom.engines.forms.fieldtypes import FieldType
from mom.engines.forms.types import choice, files, ids, number, text, time
from mom.platform.hookspecs import hookimpl

BUILTIN: tuple[FieldType, ...] = (
    text.TEXT, text.LONG_TEXT, number.INTEGER, number.DECIMAL, choice.BOOLEAN, time.DATE, time.DATETIME,
    choice.SELECT, choice.MULTI_SELECT, ids.REFERENCE, files.ATTACHMENT, ids.USER, ids.DEPARTMENT,
    text.AUTONUMBER, text.BARCODE)


@hookimpl
def mom_field_types() -> tuple[FieldType, ...]:
    """The core's field types (text … barcode)."""
    return BUILTIN
