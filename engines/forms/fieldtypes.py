"""Field types: a registry of :class:`FieldType` objects, one per ``type`` a form field may have.

A field type names its column type, its type signature (what decides a physical change), how input
values (JSON bodies, CSV/XLSX cells) are coerced to Python values and how stored values are dumped to
JSON, plus the flags other engines ask instead of branching on the type's key (an id of another row?
a look-up? kept as text? a JSON list?). The built-ins live in ``mom.engines.forms.types`` and are
registered like any plug-in's, through the ``mom_field_types`` hook; the registry is resolved lazily on
first use (the plug-in manager imports this module, not the reverse).

Coercion raises :class:`FieldError` with a bilingual message; callers add the field/row.
"""
from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mom.engines.forms import fieldguard
from mom.engines.forms.model import FieldSpec
from mom.platform.plugins import answers, plugin_manager
from mom.platform.errors import Conflict, InvalidInput, MomError

Coerce = Callable[[FieldSpec, Any, dt.tzinfo], Any]
#: (field, time zone, the general coercion for that field) -> a specialised one-argument coercer
Specialise = Callable[[FieldSpec, dt.tzinfo, Callable[[Any], Any]], Callable[[Any], Any]]
#: (the field's definition, its JSON pointer, problems, form name, known forms or None) -> None
CheckDefinition = Callable[..., None]


class FieldError(MomError):
    """A value that does not fit its field's type (422 ``invalid_input`` if one reaches the API)."""

    code = "invalid_input"


class LookupNeeded:
    """A reference given by its display text; resolved to an id in one batch by the record service."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"LookupNeeded({self.text!r})"


@dataclass(frozen=True)
class FieldType:
    """One field type. Only ``key``, ``column`` and ``coerce`` are required; the rest have defaults
    that suit a plain scalar value.

    ``family`` groups types that share checks and operators: ``text`` (length, regex), ``number``
    (min/max), ``temporal`` (min/max dates), ``choice`` (a fixed set of values); others are their own.
    """

    key: str
    column: Callable[[FieldSpec], sa.types.TypeEngine[Any]]     # the SQLAlchemy column type of a field
    coerce: Coerce                                               # input value (not empty) -> Python value
    signature: Callable[[FieldSpec], str] | None = None          # physical signature; None: the key
    specialise: Specialise | None = None                         # a short path for the usual inputs
    dump: Callable[[FieldSpec, Any], Any] | None = None          # non-JSON Python value -> JSON value
    family: str = ""
    blank_is_value: bool = False        # '' is a value (text), not "empty"
    id_max: int | None = None           # the value is the id of another row (reference, user …): its range
    foreign_key: Callable[[FieldSpec], sa.ForeignKey | None] | None = None
    lookup: bool = False                # values need a look-up or an existence check (ids, files)
    files: bool = False                 # values are uploaded files' ids
    json_list: bool = False             # stored as a JSON list (no eq/lt filters)
    stored_as_text: bool = False        # a text column: LIKE matches it without a cast
    generated: bool = False             # the platform fills the value (auto-numbers): read-only, unique
    scannable: bool = False             # shop-floor scanning finds records by it
    index_main: bool = False            # gets a plain index on the main table …
    index_child: bool = False           # … and on a child table
    max_length: int = 100000            # default max_length of the text family
    json_sql: Callable[[Any, str], Any] | None = None   # (column, dialect) -> the value as JSON in SQL; None: as it is
    options_schema: Mapping[str, Any] = field(default_factory=dict)   # JSON-Schema of the options it adds
    check_definition: CheckDefinition | None = None                   # extra publish-time checks of a field

    @property
    def is_id(self) -> bool:
        """The value is the id of another row (reference, user, department)."""
        return self.id_max is not None


class FieldTypes:
    """The field types of one plug-in manager, by key, and the meta-schema that names them.

    ``types`` are ``FieldType`` objects or ``(source, FieldType)`` pairs, ``source`` naming the plug-in
    that gave it (for messages). A key must match ``^[a-z][a-z0-9_]*$`` (``InvalidInput``); two types
    with the same key are a ``Conflict`` naming both sources. A plug-in's type (not the core's) is
    wrapped by :func:`mom.engines.forms.fieldguard.guarded`: its code failing becomes a message."""

    def __init__(self, types: Iterable[FieldType | tuple[str, FieldType]]) -> None:
        self.by_key: dict[str, FieldType] = {}
        self.sources: dict[str, str] = {}
        for item in types:
            source, ft = item if isinstance(item, tuple) else (_source_of(item), item)
            key = ft.key
            if not isinstance(key, str) or not fieldguard.KEY.match(key):
                raise InvalidInput(f"插件 {source} 的字段类型名 {key!r} 不合规则：只能用小写字母、数字和下划线，以字母开头",
                                   f"the field type key {key!r} of plug-in {source} is not valid: lowercase letters, "
                                   "digits and _, starting with a letter")
            if key in self.by_key:
                first = self.sources[key]
                raise Conflict(f"字段类型 {key} 注册了两次：{first} 和 {source}；请改名或只保留一个",
                               f"field type {key} is registered twice: by {first} and by {source}; rename one or drop one")
            self.by_key[key] = ft if fieldguard.is_core(ft) else fieldguard.guarded(ft, FieldError, LookupNeeded)
            self.sources[key] = source
        self._schemas: dict[int, dict[str, Any]] = {}
        self._names: dict[int, frozenset[str]] = {}

    def get(self, key: str) -> FieldType | None:
        return self.by_key.get(key)

    def schema(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` (the shipped form meta-schema) naming every registered type and its options."""
        got = self._schemas.get(id(base))
        if got is None:
            got = copy.deepcopy(dict(base))
            fld = got["$defs"]["field"]
            enum = fld["properties"]["type"]["enum"]
            enum.extend(k for k in self.by_key if k not in enum)
            for ft in self.by_key.values():
                for name, sub in ft.options_schema.items():
                    fld["properties"].setdefault(name, sub)
            self._schemas[id(base)] = got
        return got

    def type_names(self, base: Mapping[str, Any]) -> frozenset[str]:
        """The field type names ``schema(base)`` allows (its ``type`` enum), gathered once."""
        got = self._names.get(id(base))
        if got is None:
            got = self._names[id(base)] = frozenset(self.schema(base)["$defs"]["field"]["properties"]["type"]["enum"])
        return got


def types_of(pm: Any) -> FieldTypes:
    """The registry a plug-in manager's ``mom_field_types`` implementations make up (in the hook's
    calling order; each type remembers the plug-in that gave it, for messages)."""
    return FieldTypes([(plugin, ft) for plugin, types in answers(pm.hook.mom_field_types) for ft in types or ()])


def _source_of(ft: FieldType) -> str:
    return str(getattr(ft.coerce, "__module__", None) or "?")


@cache
def _default() -> FieldTypes:
    return types_of(plugin_manager())   # on first use: the manager imports the core plug-ins then


_override: list[FieldTypes] = []


def registry() -> FieldTypes:
    """The active registry: the process's plug-in manager's (or one set by :func:`using`)."""
    return _override[-1] if _override else _default()


@contextlib.contextmanager
def using(types: FieldTypes) -> Iterator[FieldTypes]:
    """Make ``types`` the active registry inside the block (tests; a tool with its own plug-ins)."""
    _override.append(types)
    try:
        yield types
    finally:
        _override.pop()


def field_type(key: str) -> FieldType | None:
    """The registered type of that key, or None."""
    return registry().get(key)


def type_of(f: FieldSpec) -> FieldType | None:
    """The type of the value ``f`` stores (a formula: its result type), resolved once per field."""
    memo = f.memo
    ft = memo.get("field_type")
    if ft is None:
        ft = registry().get(f.value_type)
        if ft is not None:
            memo["field_type"] = ft
    return ft


def scannable(f: FieldSpec, text: bool = True) -> bool:
    """A scanned code can stand for the field's value: its type (``f.type``, not the value type) is
    scannable (a barcode, an auto-number), or, when ``text`` is true, it is a text field."""
    ft = field_type(f.type)
    return ft is not None and (ft.scannable or (text and f.type == "text"))


def is_id(f: FieldSpec) -> bool:
    """The field holds the id of another row (a reference, user or department)."""
    ft = type_of(f)
    return ft is not None and ft.id_max is not None


def is_generated(f: FieldSpec) -> bool:
    """The platform fills the field's value (an auto-number); a value a user gives must still be unique."""
    ft = type_of(f)
    return ft is not None and ft.generated


def json_sql(f: FieldSpec, col: Any, dialect: str) -> Any:
    """``col`` (a column of ``f``) as the JSON value of a document built in SQL (``dialect``)."""
    ft = type_of(f)
    return ft.json_sql(col, dialect) if ft is not None and ft.json_sql is not None else col


def form_schema(base: Mapping[str, Any]) -> dict[str, Any]:
    """The form meta-schema with the active registry's types."""
    return registry().schema(base)


def type_names(base: Mapping[str, Any]) -> frozenset[str]:
    """The field type names the form meta-schema ``base`` allows with the active registry's types."""
    return registry().type_names(base)


def _known(f: FieldSpec) -> FieldType:
    ft = type_of(f)
    if ft is None:
        raise ValueError(f"no field type {f.value_type}")
    return ft


def column_type(f: FieldSpec) -> sa.types.TypeEngine[Any]:
    """The column type of a field's stored value."""
    try:
        return _known(f).column(f)
    except ValueError:
        raise ValueError(f"no column type for {f.value_type}") from None


def foreign_key(f: FieldSpec) -> sa.ForeignKey | None:
    """The foreign key of a field's column (references, users, departments), or None."""
    fk = _known(f).foreign_key
    return fk(f) if fk is not None else None


def type_sig(f: FieldSpec) -> str:
    """Physical signature: two fields with the same signature need no data conversion."""
    ft = type_of(f)
    return ft.signature(f) if ft is not None and ft.signature is not None else f.value_type


def plant_tz(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - unknown zone names fall back to UTC
        return dt.timezone.utc


def coerce(f: FieldSpec, value: Any, *, tz: dt.tzinfo = dt.timezone.utc) -> Any:
    """Input value -> Python value for ``f`` (None stays None; '' counts as empty)."""
    ft = type_of(f)
    if value is None or (isinstance(value, str) and value.strip() == "" and not (ft is not None and ft.blank_is_value)):
        return None
    if ft is None:
        t = f.value_type
        raise FieldError(f"类型 {t} 不能直接赋值", f"type {t} cannot be set directly")
    return ft.coerce(f, value, tz)


def coercer(f: FieldSpec, tz: dt.tzinfo = dt.timezone.utc) -> Callable[[Any], Any]:
    """``coerce`` specialised for one field and time zone: the same results and the same errors, with
    a short path for the values imports and APIs mostly send (plain strings, ints). Memoised on the field."""
    key = ("coerce", tz)
    fn = f.memo.get(key)
    if fn is None:
        fn = f.memo[key] = _specialise(f, tz)
    return fn


def _specialise(f: FieldSpec, tz: dt.tzinfo) -> Callable[[Any], Any]:
    def general(v: Any) -> Any:
        return coerce(f, v, tz=tz)

    ft = type_of(f)
    if ft is None or ft.specialise is None:
        return general
    return ft.specialise(f, tz, general)


_JSON_NATIVE = frozenset({str, int, float, bool, list, dict})


def dump(f: FieldSpec, value: Any) -> Any:
    """Python value -> JSON value (decimals as numbers, dates as ISO strings). Values that are JSON
    already (text, numbers, lists …) are returned as they are; others go to their type's ``dump``."""
    if value is None or type(value) in _JSON_NATIVE:
        return value
    ft = type_of(f)
    if ft is not None and ft.dump is not None:
        return ft.dump(f, value)
    return plain_dump(value)


def plain_dump(value: Any) -> Any:
    """The JSON form of a stored value when its type says nothing else."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
