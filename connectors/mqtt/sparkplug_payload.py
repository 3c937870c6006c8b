"""The Sparkplug B payload (Eclipse Sparkplug 3.0, chapter 6 "Payloads") as protobuf message classes.

The message descriptor is written here, in Python, field for field from the ``sparkplug_b.proto``
printed in the specification (package ``org.eclipse.tahu.protobuf``, proto2): no generated file
and no ``protoc``. ``Payload``, ``Metric``, ``DataSet``, ``Template`` … are the classes of a
private descriptor pool, so another library that registers the same names cannot clash with them.

``metric_value`` / ``set_metric_value`` convert between a metric's wire value and Python, by the
Sparkplug datatype (§6.4.16 "Datatype Details"): Int8/16/32 travel in ``uint32`` and Int64 in
``uint64`` as two's complement, Float as a 32-bit float, DateTime as milliseconds since the epoch.
"""
from __future__ import annotations

import base64
import enum
import math
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "org.eclipse.tahu.protobuf"
_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "float": _F.TYPE_FLOAT,
            "double": _F.TYPE_DOUBLE, "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING,
            "bytes": _F.TYPE_BYTES}
_EXTENSIONS_MAX = 536870912   # "to max": field numbers up to 2^29 - 1, the range's end is exclusive


class DataType(enum.IntEnum):
    """The spec's ``enum DataType`` (§6.4.15)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


# -- the .proto, as data: (message, fields, first extension number or None, nested messages) -----------
# a field is (name, number, type, how): type a scalar or a message path below the package;
# how "optional", "repeated" or "oneof" (a member of the message's one `value` oneof)

def _msg(name: str, *fields: tuple[str, int, str, str], ext: int | None = None,
         nested: tuple[tuple, ...] = ()) -> tuple:
    return (name, fields, ext, nested)


def _opt(name: str, number: int, type_: str) -> tuple[str, int, str, str]:
    return (name, number, type_, "optional")


def _rep(name: str, number: int, type_: str) -> tuple[str, int, str, str]:
    return (name, number, type_, "repeated")


def _one(name: str, number: int, type_: str) -> tuple[str, int, str, str]:
    return (name, number, type_, "oneof")


def _basic_values(first: int) -> tuple[tuple[str, int, str, str], ...]:
    """The oneof members int … string that Parameter, DataSetValue and PropertyValue share."""
    kinds = (("int_value", "uint32"), ("long_value", "uint64"), ("float_value", "float"),
             ("double_value", "double"), ("boolean_value", "bool"), ("string_value", "string"))
    return tuple(_one(name, first + i, t) for i, (name, t) in enumerate(kinds))


_PAYLOAD = _msg(
    "Payload",
    _opt("timestamp", 1, "uint64"), _rep("metrics", 2, "Payload.Metric"), _opt("seq", 3, "uint64"),
    _opt("uuid", 4, "string"), _opt("body", 5, "bytes"),
    ext=6, nested=(
        _msg("Template",
             _opt("version", 1, "string"), _rep("metrics", 2, "Payload.Metric"),
             _rep("parameters", 3, "Payload.Template.Parameter"), _opt("template_ref", 4, "string"),
             _opt("is_definition", 5, "bool"),
             ext=6, nested=(
                 _msg("Parameter",
                      _opt("name", 1, "string"), _opt("type", 2, "uint32"), *_basic_values(3),
                      _one("extension_value", 9, "Payload.Template.Parameter.ParameterValueExtension"),
                      nested=(_msg("ParameterValueExtension", ext=1),)),)),
        _msg("DataSet",
             _opt("num_of_columns", 1, "uint64"), _rep("columns", 2, "string"), _rep("types", 3, "uint32"),
             _rep("rows", 4, "Payload.DataSet.Row"),
             ext=5, nested=(
                 _msg("DataSetValue", *_basic_values(1),
                      _one("extension_value", 7, "Payload.DataSet.DataSetValue.DataSetValueExtension"),
                      nested=(_msg("DataSetValueExtension", ext=1),)),
                 _msg("Row", _rep("elements", 1, "Payload.DataSet.DataSetValue"), ext=2))),
        _msg("PropertyValue",
             _opt("type", 1, "uint32"), _opt("is_null", 2, "bool"), *_basic_values(3),
             _one("propertyset_value", 9, "Payload.PropertySet"),
             _one("propertysets_value", 10, "Payload.PropertySetList"),
             _one("extension_value", 11, "Payload.PropertyValue.PropertyValueExtension"),
             nested=(_msg("PropertyValueExtension", ext=1),)),
        _msg("PropertySet", _rep("keys", 1, "string"), _rep("values", 2, "Payload.PropertyValue"), ext=3),
        _msg("PropertySetList", _rep("propertyset", 1, "Payload.PropertySet"), ext=2),
        _msg("MetaData",
             _opt("is_multi_part", 1, "bool"), _opt("content_type", 2, "string"), _opt("size", 3, "uint64"),
             _opt("seq", 4, "uint64"), _opt("file_name", 5, "string"), _opt("file_type", 6, "string"),
             _opt("md5", 7, "string"), _opt("description", 8, "string"), ext=9),
        _msg("Metric",
             _opt("name", 1, "string"), _opt("alias", 2, "uint64"), _opt("timestamp", 3, "uint64"),
             _opt("datatype", 4, "uint32"), _opt("is_historical", 5, "bool"), _opt("is_transient", 6, "bool"),
             _opt("is_null", 7, "bool"), _opt("metadata", 8, "Payload.MetaData"),
             _opt("properties", 9, "Payload.PropertySet"),
             _one("int_value", 10, "uint32"), _one("long_value", 11, "uint64"), _one("float_value", 12, "float"),
             _one("double_value", 13, "double"), _one("boolean_value", 14, "bool"),
             _one("string_value", 15, "string"), _one("bytes_value", 16, "bytes"),
             _one("dataset_value", 17, "Payload.DataSet"), _one("template_value", 18, "Payload.Template"),
             _one("extension_value", 19, "Payload.Metric.MetricValueExtension"),
             nested=(_msg("MetricValueExtension", ext=1),)),
    ))


def _fill(target: descriptor_pb2.DescriptorProto, spec: tuple) -> None:
    name, fields, ext, nested = spec
    target.name = name
    if any(how == "oneof" for *_, how in fields):
        target.oneof_decl.add().name = "value"
    for fname, number, type_, how in fields:
        f = target.field.add(name=fname, number=number)
        f.label = _F.LABEL_REPEATED if how == "repeated" else _F.LABEL_OPTIONAL
        if type_ in _SCALARS:
            f.type = _SCALARS[type_]
        else:
            f.type = _F.TYPE_MESSAGE
            f.type_name = f".{PACKAGE}.{type_}"
        if how == "oneof":
            f.oneof_index = 0
    if ext is not None:
        target.extension_range.add(start=ext, end=_EXTENSIONS_MAX)
    for inner in nested:
        _fill(target.nested_type.add(), inner)


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """``sparkplug_b.proto`` as a ``FileDescriptorProto``."""
    fd = descriptor_pb2.FileDescriptorProto(name="mom/sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    enum_ = fd.enum_type.add(name="DataType")
    for member in DataType:
        enum_.value.add(name=member.name, number=member.value)
    _fill(fd.message_type.add(), _PAYLOAD)
    return fd


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(file_descriptor())


def _cls(path: str) -> type:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{path}"))


Payload = _cls("Payload")
Metric = _cls("Payload.Metric")
DataSet = _cls("Payload.DataSet")
Template = _cls("Payload.Template")
PropertySet = _cls("Payload.PropertySet")

# -- values ---------------------------------------------------------------------------------------------

_INT_BITS = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32, DataType.Int64: 64}
_UINT_BITS = {DataType.UInt8: 8, DataType.UInt16: 16, DataType.UInt32: 32, DataType.UInt64: 64}
_STRINGS = (DataType.String, DataType.Text, DataType.UUID)
#: packed little-endian arrays (§6.4.16 "Array Types"): struct code per element
_ARRAYS = {DataType.Int8Array: "b", DataType.Int16Array: "h", DataType.Int32Array: "i",
           DataType.Int64Array: "q", DataType.UInt8Array: "B", DataType.UInt16Array: "H",
           DataType.UInt32Array: "I", DataType.UInt64Array: "Q", DataType.FloatArray: "f",
           DataType.DoubleArray: "d", DataType.DateTimeArray: "Q"}


def _signed(raw: int, bits: int) -> int:
    """Two's complement of the low ``bits`` of ``raw``: 0xFF as Int8 is -1."""
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def float32(value: float) -> float:
    """The shortest decimal that is the same 32-bit float: 12.1 sent as Float reads 12.1, not
    12.100000381469727."""
    if not math.isfinite(value):
        return value
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", candidate))[0] == value:
            return candidate
    return value


def datetime_of(ms: int) -> str:
    """A Sparkplug DateTime (milliseconds since the epoch, UTC) as ISO 8601 text
    (``2017-02-03T17:55:02.122+00:00``): readable in a mapping and safe in JSON."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def text(value: str | bytes) -> str:
    """A string field; proto2 hands back one that is not UTF-8 as bytes: refused."""
    if isinstance(value, bytes):
        raise ValueError("text that is not UTF-8")
    return value


def _scalar(holder: Any, datatype: int) -> Any:
    """The value of a Metric, DataSetValue, Parameter or PropertyValue by its datatype."""
    which = holder.WhichOneof("value")
    if which is None:
        return None
    raw = getattr(holder, which)
    if which == "string_value" and isinstance(raw, bytes):   # proto2 hands back invalid UTF-8 as bytes
        raise ValueError("text that is not UTF-8")
    if datatype in _INT_BITS and isinstance(raw, int) and not isinstance(raw, bool):
        return _signed(raw, _INT_BITS[DataType(datatype)])
    if datatype in _UINT_BITS and isinstance(raw, int) and not isinstance(raw, bool):
        return raw & ((1 << _UINT_BITS[DataType(datatype)]) - 1)
    if datatype == DataType.DateTime and which in ("long_value", "int_value"):
        return datetime_of(raw)
    if which == "float_value":
        return float32(raw)
    return raw


def _array(raw: bytes, datatype: DataType) -> list[Any]:
    if datatype == DataType.BooleanArray:
        # a 4-byte little-endian count, then the bits packed most significant first
        count = struct.unpack_from("<I", raw)[0] if len(raw) >= 4 else 0
        bits = raw[4:]
        if count > len(bits) * 8:
            raise ValueError("BooleanArray shorter than its count")
        return [bool(bits[i // 8] >> (7 - i % 8) & 1) for i in range(count)]
    if datatype == DataType.StringArray:
        return [s.decode("utf-8") for s in raw.split(b"\0")[:-1]] if raw else []
    code = _ARRAYS[datatype]
    values = [v for (v,) in struct.iter_unpack("<" + code, raw)]
    if datatype == DataType.FloatArray:
        return [float32(v) for v in values]
    if datatype == DataType.DateTimeArray:
        return [datetime_of(v) for v in values]
    return values


def metric_value(metric: Any, datatype: int, *, depth: int = 0) -> Any:
    """A metric's value in Python: int, float, bool, str, a DateTime as ISO text, a list (arrays), a DataSet as
    ``{"columns": [...], "rows": [[...], …]}``, a Template as ``{member name: value}`` (with
    ``template_ref``), None when ``is_null``. Bytes and File come back as base64 text."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which == "dataset_value":
        ds = metric.dataset_value
        types = list(ds.types)
        return {"columns": [text(c) for c in ds.columns],
                "rows": [[_scalar(e, types[i] if i < len(types) else 0) for i, e in enumerate(row.elements)]
                         for row in ds.rows]}
    if which == "template_value":
        if depth > 16:
            raise ValueError("templates nested more than 16 deep")
        tpl = metric.template_value
        members = {text(m.name): metric_value(m, m.datatype, depth=depth + 1) for m in tpl.metrics}
        return {"template_ref": tpl.template_ref or None, "is_definition": tpl.is_definition,
                "metrics": members}
    if which == "bytes_value":
        if datatype in _ARRAYS or datatype in (DataType.BooleanArray, DataType.StringArray):
            return _array(metric.bytes_value, DataType(datatype))
        return base64.b64encode(metric.bytes_value).decode("ascii")
    return _scalar(metric, datatype)


def infer_datatype(value: Any) -> DataType:
    """The datatype a Python value is sent as when none is given."""
    if isinstance(value, bool):
        return DataType.Boolean
    if isinstance(value, int):
        return DataType.UInt64 if value >= 1 << 63 else DataType.Int64
    if isinstance(value, float):
        return DataType.Double
    if isinstance(value, datetime):
        return DataType.DateTime
    if isinstance(value, str):
        return DataType.String
    if isinstance(value, Mapping) and "columns" in value:
        return DataType.DataSet
    raise TypeError(f"no Sparkplug datatype for {type(value).__name__}")


def _ms(value: datetime | str | int) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a DateTime value needs a time zone (UTC)")
        return round(value.timestamp() * 1000)
    return int(value)


def _set_scalar(holder: Any, datatype: DataType, value: Any) -> None:
    if datatype in _INT_BITS or datatype in _UINT_BITS:
        bits = _INT_BITS.get(datatype) or _UINT_BITS[datatype]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if datatype in _INT_BITS else (0, (1 << bits) - 1)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{value!r} is not a {datatype.name}")
        field = "long_value" if bits == 64 else "int_value"
        setattr(holder, field, value & ((1 << (64 if bits == 64 else 32)) - 1))
    elif datatype == DataType.Float:
        holder.float_value = float(value)
    elif datatype == DataType.Double:
        holder.double_value = float(value)
    elif datatype == DataType.Boolean:
        holder.boolean_value = bool(value)
    elif datatype in _STRINGS:
        holder.string_value = str(value)
    elif datatype == DataType.DateTime:
        holder.long_value = _ms(value)
    else:
        raise ValueError(f"cannot send {datatype.name} as a plain value")


def set_metric_value(metric: Any, datatype: DataType, value: Any) -> None:
    """Write ``value`` into ``metric`` as ``datatype`` (None: ``is_null``)."""
    metric.datatype = int(datatype)
    if value is None:
        metric.is_null = True
    elif datatype == DataType.DataSet:
        ds = metric.dataset_value
        columns = list(value["columns"])
        types = [DataType(t) for t in value.get("types") or
                 [infer_datatype(next((r[i] for r in value["rows"] if r[i] is not None), ""))
                  for i in range(len(columns))]]
        ds.num_of_columns = len(columns)
        ds.columns.extend(columns)
        ds.types.extend(int(t) for t in types)
        for row in value["rows"]:
            out = ds.rows.add()
            for t, cell in zip(types, row, strict=True):
                element = out.elements.add()
                if cell is not None:
                    _set_scalar(element, t, cell)
    elif datatype == DataType.BooleanArray:
        flags = [bool(v) for v in value]
        packed = bytearray((len(flags) + 7) // 8)
        for i, flag in enumerate(flags):
            packed[i // 8] |= flag << (7 - i % 8)
        metric.bytes_value = struct.pack("<I", len(flags)) + bytes(packed)
    elif datatype == DataType.StringArray:
        metric.bytes_value = b"".join(str(v).encode("utf-8") + b"\0" for v in value)
    elif datatype in _ARRAYS:
        code = _ARRAYS[datatype]
        items = [_ms(v) for v in value] if datatype == DataType.DateTimeArray else list(value)
        metric.bytes_value = struct.pack(f"<{len(items)}{code}", *items)
    elif datatype in (DataType.Bytes, DataType.File):
        metric.bytes_value = bytes(value)
    else:
        _set_scalar(metric, datatype, value)
