"""Sparkplug B payload codec (connectors/mqtt/sparkplug_payload.py, sparkplug.py): the descriptor written
in Python reads and writes the wire format of the spec's ``sparkplug_b.proto`` (Eclipse Sparkplug 3.0,
chapter 6), checked against bytes built here by hand from the field numbers and wire types; every
datatype the device consumer uses survives a round trip; malformed input is refused in words."""
from __future__ import annotations

import struct

import pytest

from mom.connectors.mqtt.sparkplug import (SparkplugDecoder, SparkplugError, decode_payload, encode_payload, parse_payload,
                                           parse_topic)
from mom.connectors.mqtt.sparkplug_payload import DataType, Metric, Payload, metric_value, set_metric_value

TS = 1486144502122   # the payload timestamp of every example in the spec's chapter 6


# -- protobuf wire format by hand (https://protobuf.dev/programming-guides/encoding/) -----------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def vfield(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def lfield(number: int, data: bytes) -> bytes:
    return tag(number, 2) + varint(len(data)) + data


def f32field(number: int, value: float) -> bytes:
    return tag(number, 5) + struct.pack("<f", value)


def hand_payload(metrics: list[bytes], *, seq: int | None, timestamp: int = TS) -> bytes:
    """Payload: timestamp = 1 (uint64), metrics = 2 (repeated Metric), seq = 3 (uint64)."""
    body = vfield(1, timestamp) + b"".join(lfield(2, m) for m in metrics)
    return body + (vfield(3, seq) if seq is not None else b"")


def hand_metric(*, name: str | None = None, alias: int | None = None, datatype: int | None = None,
                value: bytes = b"", timestamp: int = TS) -> bytes:
    """Metric: name = 1, alias = 2, timestamp = 3, datatype = 4, then the value oneof (10 … 19)."""
    out = b""
    if name is not None:
        out += lfield(1, name.encode())
    if alias is not None:
        out += vfield(2, alias)
    out += vfield(3, timestamp)
    if datatype is not None:
        out += vfield(4, datatype)
    return out + value


def test_a_hand_built_ndata_of_the_spec_reads_as_its_json_representation() -> None:
    # spec §6.4.20 NDATA: {"timestamp": 1486144502122, "metrics": [{"name": "Supply Voltage",
    # "timestamp": 1486144502122, "dataType": "Float", "value": 12.3}], "seq": 2}
    raw = hand_payload([hand_metric(name="Supply Voltage", datatype=9, value=f32field(12, 12.3))], seq=2)
    assert decode_payload(raw) == {"timestamp_ms": TS, "seq": 2, "metrics": [
        {"name": "Supply Voltage", "alias": None, "datatype": "Float", "value": 12.3}]}


def test_the_encoder_writes_the_same_bytes_as_the_hand_built_message() -> None:
    expected = hand_payload([hand_metric(name="Inputs/A", alias=3, datatype=11, value=vfield(14, 1)),
                             hand_metric(name="Supply Voltage", alias=4, datatype=9, value=f32field(12, 12.1))],
                            seq=0)
    got = encode_payload({"Inputs/A": True, "Supply Voltage": 12.1}, seq=0, timestamp_ms=TS, birth=True,
                         aliases={"Inputs/A": 3, "Supply Voltage": 4}, types={"Supply Voltage": DataType.Float})
    assert got == expected
    # a DATA message carries the alias only, the name is left out (spec tck-id-payloads-alias-data-cmd-requirement)
    data = encode_payload({"Inputs/A": False}, seq=1, timestamp_ms=TS, aliases={"Inputs/A": 3})
    assert data == hand_payload([hand_metric(alias=3, datatype=11, value=vfield(14, 0))], seq=1)


def test_every_field_number_of_the_spec_proto_is_in_the_descriptor() -> None:
    fields = {f.name: (f.number, f.type) for f in Metric.DESCRIPTOR.fields}
    assert {k: v[0] for k, v in fields.items()} == {
        "name": 1, "alias": 2, "timestamp": 3, "datatype": 4, "is_historical": 5, "is_transient": 6,
        "is_null": 7, "metadata": 8, "properties": 9, "int_value": 10, "long_value": 11, "float_value": 12,
        "double_value": 13, "boolean_value": 14, "string_value": 15, "bytes_value": 16, "dataset_value": 17,
        "template_value": 18, "extension_value": 19}
    assert [f.name for f in Metric.DESCRIPTOR.oneofs_by_name["value"].fields][:3] == ["int_value", "long_value",
                                                                                    "float_value"]
    assert {f.name: f.number for f in Payload.DESCRIPTOR.fields} == {
        "timestamp": 1, "metrics": 2, "seq": 3, "uuid": 4, "body": 5}
    assert DataType.Template == 19 and DataType.DateTimeArray == 34


@pytest.mark.parametrize(("datatype", "value"), [
    (DataType.Int8, -128), (DataType.Int8, 127), (DataType.Int16, -30000), (DataType.Int32, -1),
    (DataType.Int32, 2_147_483_647), (DataType.Int64, -4270929666821191986), (DataType.UInt8, 255),
    (DataType.UInt16, 65535), (DataType.UInt32, 4_294_967_295), (DataType.UInt64, 16444743074749521625),
    (DataType.Float, 12.1), (DataType.Float, -0.5), (DataType.Double, 1022.9123213), (DataType.Boolean, True),
    (DataType.Boolean, False), (DataType.String, "主轴温度 OK"), (DataType.Text, "line 1\nline 2"),
    (DataType.DateTime, "2017-02-03T17:55:02.122+00:00"), (DataType.Int64, None),
])
def test_each_datatype_survives_a_round_trip(datatype: DataType, value: object) -> None:
    raw = encode_payload({"m": value}, seq=5, timestamp_ms=TS, types={"m": datatype})
    [metric] = decode_payload(raw)["metrics"]
    assert (metric["datatype"], metric["value"]) == (datatype.name, value)


def test_signed_integers_read_the_same_from_32_bit_and_narrow_twos_complement() -> None:
    # Int8 -1 travels in a uint32: a Java encoder writes 0xFFFFFFFF, another writes 0xFF (value + 2^8)
    for wire in (0xFFFF_FFFF, 0xFF):
        raw = hand_payload([hand_metric(name="t", datatype=1, value=vfield(10, wire))], seq=1)
        assert decode_payload(raw)["metrics"][0]["value"] == -1
    # Int64 -2 in a uint64
    raw = hand_payload([hand_metric(name="t", datatype=4, value=vfield(11, (1 << 64) - 2))], seq=1)
    assert decode_payload(raw)["metrics"][0]["value"] == -2


@pytest.mark.parametrize(("datatype", "values", "wire"), [
    # the spec's worked examples of the array types (Sparkplug 3.0 §6.4.17 "Array Types")
    (DataType.Int8Array, [-23, 123], "e97b"),
    (DataType.Int16Array, [-30000, 30000], "d08a3075"),
    (DataType.Int32Array, [-1, 315338746], "fffffffffaafcb12"),
    (DataType.UInt16Array, [30, 52360], "1e0088cc"),
    (DataType.UInt32Array, [52, 3293969225], "3400000049fb55c4"),
    (DataType.UInt64Array, [52, 16444743074749521625], "3400000000000000d99e02d1b27637e4"),
    (DataType.BooleanArray, [False, False, True, True, False, True, False, False, True, True, False, True],
     "0c00000034d0"),
    (DataType.StringArray, ["ABC", "hello"], "41424300" + "68656c6c6f00"),
])
def test_array_types_match_the_spec_examples(datatype: DataType, values: list, wire: str) -> None:
    m = Metric()
    set_metric_value(m, datatype, values)
    assert m.bytes_value.hex() == wire
    assert metric_value(m, datatype) == values


def test_a_dataset_and_a_template_read_as_plain_data() -> None:
    table = {"columns": ["pos", "torque"], "types": [DataType.Int32, DataType.Double],
             "rows": [[1, 12.5], [2, None]]}
    raw = encode_payload({"torques": table}, seq=3, timestamp_ms=TS)
    assert decode_payload(raw)["metrics"][0]["value"] == {"columns": ["pos", "torque"], "rows": [[1, 12.5], [2, None]]}

    payload = Payload(timestamp=TS, seq=4)
    m = payload.metrics.add(name="Motor 1", datatype=DataType.Template)
    m.template_value.template_ref = "Motor"
    m.template_value.is_definition = False
    member = m.template_value.metrics.add(name="RPM", datatype=DataType.Int32)
    member.int_value = 1450
    member = m.template_value.metrics.add(name="Running", datatype=DataType.Boolean, boolean_value=True)
    assert decode_payload(payload.SerializeToString())["metrics"][0]["value"] == {
        "template_ref": "Motor", "is_definition": False, "metrics": {"RPM": 1450, "Running": True}}


def test_a_value_outside_its_datatype_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="Int8"):
        encode_payload({"t": 200}, seq=0, timestamp_ms=TS, types={"t": DataType.Int8})
    with pytest.raises(ValueError, match="UInt16"):
        encode_payload({"t": -1}, seq=0, timestamp_ms=TS, types={"t": DataType.UInt16})


@pytest.mark.parametrize("raw", [
    b"{\"temp\": 21.5}",                                  # plain JSON on a Sparkplug topic
    hand_payload([hand_metric(name="x", datatype=9, value=f32field(12, 1.0))], seq=1)[:-4],  # cut short
    lfield(2, b"\x0a\x03\xff\xfe\xfd"),                   # a metric name that is no UTF-8
])
def test_a_malformed_payload_raises_a_clear_bilingual_error(raw: bytes) -> None:
    with pytest.raises(SparkplugError) as caught:
        SparkplugDecoder().feed("spBv1.0/plant1/NBIRTH/edge1", raw)
    err = caught.value
    assert "Sparkplug 消息无法读取" in err.zh and "unreadable Sparkplug message" in err.en
    assert "UTF-8" in err.en or "is not Sparkplug B" in err.en
    assert "spBv1.0/plant1/NBIRTH/edge1" in err.en and err.code == "invalid_input"


def test_an_oversized_payload_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(SparkplugError, match="over the limit of 1000"):
        parse_payload(b"\x00" * 1001, max_bytes=1000)


def test_topics_are_parsed_and_wrong_ones_named() -> None:
    t = parse_topic("spBv1.0/Sparkplug B Devices/DDATA/Raspberry Pi/Pibrella")
    assert (t.group, t.type, t.edge, t.device, t.key) == (
        "Sparkplug B Devices", "DDATA", "Raspberry Pi", "Pibrella", "Sparkplug B Devices/Raspberry Pi/Pibrella")
    assert parse_topic("spBv1.0/g/NBIRTH/e").key == "g/e"
    assert parse_topic("spBv1.0/STATE/scada-1").type == "STATE"
    for bad, words in [("spAv1.0/g/NDATA/e", "does not start with spBv1.0/"),
                       ("spBv1.0/g/NDATA", "must be spBv1.0/<group>"),
                       ("spBv1.0/g/XDATA/e", "unknown message type XDATA"),
                       ("spBv1.0/g/DDATA/e", "needs a device id"),
                       ("spBv1.0/g/NDATA/e/d", "has no device id"),
                       ("spBv1.0//NDATA/e", "must be spBv1.0/<group>")]:
        with pytest.raises(SparkplugError, match=words):
            parse_topic(bad)
