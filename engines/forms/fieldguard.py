"""Guards around a plug-in's field type: its code (coerce, column, dump …) raising something other
than a product error, or coercing to a value its column cannot hold, becomes a bilingual
:class:`~mom.engines.forms.fieldtypes.FieldError` naming the field and the type, never a 500.

Only plug-ins' types are wrapped (see :func:`guarded`); the core's built-ins keep their direct,
fast path. The registry applies the guards when it is built (:class:`FieldTypes`)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mom.engines.forms.model import FieldSpec
from mom.platform.errors import MomError

if TYPE_CHECKING:
    from mom.engines.forms.fieldtypes import FieldType

KEY = re.compile(r"^[a-z][a-z0-9_]*$")
#: the core's own field types live here: they are trusted and not wrapped
CORE_PREFIX = "mom.engines.forms."
_NUMBERS = (int, float, Decimal)


def is_core(ft: "FieldType") -> bool:
    """The type is one of the core's built-ins (its coercion lives in the forms engine)."""
    return str(getattr(ft.coerce, "__module__", "")).startswith(CORE_PREFIX)


def _where(f: Any) -> tuple[str, str]:
    key = getattr(f, "key", None) or (f.get("key") if isinstance(f, dict) else None) or "?"
    return str(key), str(getattr(f, "value_type", None) or (f.get("type") if isinstance(f, dict) else "") or "?")


def _failed(error: type[MomError], ft_key: str, f: Any, what: tuple[str, str], exc: BaseException) -> MomError:
    key, _ = _where(f)
    why = f"{type(exc).__name__}: {exc}"[:200]
    return error(f"字段 {key} 的类型 {ft_key}（插件提供）在{what[0]}时出错：{why}；请联系插件作者",
                      f"field {key} of type {ft_key} (from a plug-in) failed to {what[1]}: {why}; "
                      "tell the plug-in's author")


def _guard(error: type[MomError], ft_key: str, fn: Callable[..., Any] | None,
           what: tuple[str, str]) -> Callable[..., Any] | None:
    if fn is None:
        return None

    def call(f: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(f, *args, **kwargs)
        except MomError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plug-in's bug becomes a message naming it
            raise _failed(error, ft_key, f, what, exc) from exc
    return call


def _python_type(ft: "FieldType", f: FieldSpec) -> Any:
    """The Python type(s) a value of ``f`` must have to fit its column, or None (not checked)."""
    memo = f.memo
    if "plugin_python_type" not in memo:
        try:
            col = ft.column(f)
            py = col.python_type
        except Exception:  # noqa: BLE001 - JSON and custom columns say nothing: not checked
            py = None
        if py in _NUMBERS:
            py = _NUMBERS
        elif py in (dict, list):
            py = None      # a JSON column holds any JSON value
        memo["plugin_python_type"] = py
    return memo["plugin_python_type"]


def _checked(error: type[MomError], later: type, ft: "FieldType", f: FieldSpec, out: Any) -> Any:
    if out is None or ft.lookup and isinstance(out, later):
        return out
    py = _python_type(ft, f)
    if py is not None and (not isinstance(out, py) or (isinstance(out, bool) and py is _NUMBERS)):
        names = "/".join(t.__name__ for t in (py if isinstance(py, tuple) else (py,)))
        raise error(f"字段 {f.key} 的类型 {ft.key}（插件提供）把输入转换成了 {type(out).__name__}，"
                         f"而它的列要求 {names}；请联系插件作者",
                         f"field {f.key} of type {ft.key} (from a plug-in) converted the input to a "
                         f"{type(out).__name__}, but its column holds {names}; tell the plug-in's author")
    return out


def guarded(ft: "FieldType", error: type[MomError], later: type) -> "FieldType":
    """``ft`` with its plug-in code wrapped: exceptions and wrongly typed coercions become ``error``;
    a look-up type's ``later`` (a value resolved later) passes. The registry passes ``FieldError`` and
    ``LookupNeeded`` (this module cannot import them: the registry imports this one)."""
    key = ft.key
    coerce_ = _guard(error, key, ft.coerce, ("转换输入", "convert the input"))
    assert coerce_ is not None
    specialise = ft.specialise
    raw_ft = ft

    def coerce(f: FieldSpec, value: Any, tz: dt.tzinfo) -> Any:
        return _checked(error, later, raw_ft, f, coerce_(f, value, tz))

    def special(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
        assert specialise is not None
        try:
            fast = specialise(f, tz, general)
        except MomError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _failed(error, key, f, ("准备转换", "prepare its conversion"), exc) from exc

        def one(v: Any) -> Any:
            try:
                out = fast(v)
            except MomError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _failed(error, key, f, ("转换输入", "convert the input"), exc) from exc
            return _checked(error, later, raw_ft, f, out)
        return one

    return dataclasses.replace(
        ft, coerce=coerce, specialise=special if specialise is not None else None,
        column=_guard(error, key, ft.column, ("给出列类型", "give its column type")),
        signature=_guard(error, key, ft.signature, ("给出类型签名", "give its type signature")),
        dump=_guard(error, key, ft.dump, ("输出取值", "dump a value")),
        foreign_key=_guard(error, key, ft.foreign_key, ("给出外键", "give its foreign key")),
        check_definition=_guard(error, key, ft.check_definition, ("检查字段定义", "check the field's definition")))
