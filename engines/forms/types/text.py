"""Text-like field types: ``text``, ``long_text``, ``barcode`` and ``autonumber``."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mom.engines.forms import autonumber as autonumbers
from mom.engines.forms.fieldtypes import FieldError, FieldType
from mom.engines.forms.model import FieldSpec
from mom.platform.errors import ProblemList


def coerce_text(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    """Any scalar as its text (a whole float without its ``.0``); objects and lists are refused."""
    if isinstance(v, (dict, list)):
        raise FieldError("应为文本", "expected text")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _any_string(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: v if type(v) is str else general(v)


def _non_blank_string(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: v if type(v) is str and v and not v.isspace() else general(v)


def _sized(default: int) -> Callable[[FieldSpec], str]:
    return lambda f: f"text({int(f.raw.get('max_length', default))})"


def _check_pattern(f: Any, path: str, problems: ProblemList, **_: Any) -> None:
    pattern = f.get("pattern")
    if not isinstance(pattern, str):
        problems.add(f"{path}/pattern", "自动编号需要 pattern，如 IQC-{yyyyMMdd}-{seq:4}",
                     "an autonumber needs a pattern such as IQC-{yyyyMMdd}-{seq:4}", "required")
    elif (bad := autonumbers.check_pattern(pattern)) is not None:
        problems.add(f"{path}/pattern", bad[0], bad[1], "pattern")


TEXT = FieldType("text", column=lambda f: sa.String(int(f.raw.get("max_length", 255))), coerce=coerce_text,
                 signature=_sized(255), specialise=_any_string, family="text", blank_is_value=True,
                 stored_as_text=True, max_length=255)
LONG_TEXT = FieldType("long_text", column=lambda f: sa.Text(), coerce=coerce_text, specialise=_any_string,
                      family="text", blank_is_value=True, stored_as_text=True)
BARCODE = FieldType("barcode", column=lambda f: sa.String(int(f.raw.get("max_length", 512))), coerce=coerce_text,
                    signature=_sized(512), specialise=_non_blank_string, family="text", stored_as_text=True,
                    scannable=True, max_length=512)
AUTONUMBER = FieldType("autonumber", column=lambda f: sa.String(64), coerce=coerce_text,
                       signature=lambda f: "text(64)", specialise=_non_blank_string, family="code",
                       stored_as_text=True, generated=True, scannable=True, check_definition=_check_pattern)
