"""Sparkplug B (Eclipse Sparkplug 3.0) for the device consumer: topics, the decoder, the encoder.

Topic ``spBv1.0/<group>/<type>/<edge node>[/<device>]`` (§4.1); ``spBv1.0/STATE/<host>`` is a host
application's own state and carries no machine data. ``SparkplugDecoder.feed(topic, payload)``
turns one message into ``[(device key, message), …]``: the key is ``"group/edge"`` for the edge
node and ``"group/edge/device"`` for a device; the message is a plain dict::

    {"type": "DDATA", "timestamp_ms": 1486144502122, "seq": 7, "online": True,
     "metrics": {"Inputs/A": True, "Supply Voltage": 12.1},          # aliases resolved
     "metric_timestamps": {"Inputs/A": 1486144502122, …},
     "message_key": "spb:plant1/cnc/m1:380452992543239"}   # time × 256 + seq

What the decoder keeps per edge node (the session rules of §5 and the payload rules of §6):

- the metric names and datatypes announced with their aliases in NBIRTH / DBIRTH; NDATA / DDATA
  carry only the alias (and often no datatype): both are looked up here. An alias nobody announced
  is reported once and that metric is left out; the others in the message are used;
- ``seq`` runs 0–255 and wraps to 0 over every message of the node (NBIRTH is 0); a gap is
  reported ("3 messages missing") and the message is still used — the counters that come later are
  totals, so nothing is counted twice;
- NBIRTH's ``bdSeq`` pairs with the NDEATH the broker sends as the node's will: an NDEATH with the
  same bdSeq (or none known) marks the node and its devices offline; one of an older session (its
  bdSeq differs: delivered late after a new NBIRTH) is ignored;
- a DATA before its BIRTH (the consumer started in the middle of a session) is reported once per
  node or device and skipped until a BIRTH arrives. Asking the node to rebirth (an NCMD) is not done:
  the platform never writes to a plant's devices.

A malformed payload (not protobuf, bytes cut short, over ``max_bytes``) raises ``SparkplugError``,
an ``InvalidInput`` the consumer logs and skips. Reports go to the ``reports`` list and the log
(logger ``mom.connectors.mqtt.sparkplug``) — each once until its node is born again.

``encode_payload(...)`` writes a payload for the simulator and the tests.
"""
from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from mom.connectors.mqtt.sparkplug_payload import (DataType, Metric, Payload, infer_datatype, metric_value,
                                                   set_metric_value, text)
from mom.platform.errors import InvalidInput, Problem

NAMESPACE = "spBv1.0"
MESSAGE_TYPES = ("NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD", "STATE")
_NODE_TYPES = ("NBIRTH", "NDEATH", "NDATA", "NCMD")
#: a payload larger than this is refused before it is parsed (a machine's message is a few hundred bytes)
MAX_BYTES = 1 << 20
#: edge nodes kept; a broker that announces more is refused node by node (memory stays bounded)
MAX_NODES = 10_000
#: devices kept per edge node
MAX_DEVICES = 10_000
#: a metric per payload above this many is refused with the payload
MAX_METRICS = 10_000

log = logging.getLogger(__name__)


class SparkplugError(InvalidInput):
    """A Sparkplug message the decoder cannot read: the topic or the payload is malformed."""


@dataclass(frozen=True)
class SparkplugTopic:
    """A parsed topic: ``device`` is None for the edge node's own messages."""

    group: str
    type: str
    edge: str
    device: str | None = None
    topic: str = field(default="", compare=False)

    @property
    def node_key(self) -> str:
        return f"{self.group}/{self.edge}"

    @property
    def key(self) -> str:
        return self.node_key if self.device is None else f"{self.node_key}/{self.device}"


def is_sparkplug(topic: str) -> bool:
    """True for a topic of the Sparkplug B namespace."""
    return topic == NAMESPACE or topic.startswith(NAMESPACE + "/")


def parse_topic(topic: str) -> SparkplugTopic:
    """``spBv1.0/<group>/<type>/<edge>[/<device>]`` (and ``spBv1.0/STATE/<host>``: type STATE,
    edge the host id). Anything else raises ``SparkplugError`` naming the part that is wrong."""
    parts = topic.split("/")
    if parts[0] != NAMESPACE:
        raise _error(topic, f"主题不以 {NAMESPACE}/ 开头", f"the topic does not start with {NAMESPACE}/")
    if len(parts) == 3 and parts[1] == "STATE":
        return SparkplugTopic(group="", type="STATE", edge=parts[2], topic=topic)
    if len(parts) not in (4, 5) or not all(parts[1:]):
        raise _error(topic, "主题应为 spBv1.0/<组>/<消息类型>/<边缘节点>[/<设备>]",
                     "the topic must be spBv1.0/<group>/<message type>/<edge node>[/<device>]")
    group, type_, edge, *device = parts[1:]
    if type_ not in MESSAGE_TYPES:
        raise _error(topic, f"未知的消息类型 {type_}（应为 {'、'.join(MESSAGE_TYPES)} 之一）",
                     f"unknown message type {type_} (one of {', '.join(MESSAGE_TYPES)})")
    if (type_ in _NODE_TYPES) != (not device):
        raise _error(topic, f"{type_} 消息的主题{'不应' if device else '应'}带设备名",
                     f"a {type_} topic {'has no' if device else 'needs a'} device id")
    return SparkplugTopic(group=group, type=type_, edge=edge, device=device[0] if device else None, topic=topic)


def _error(topic: str, zh: str, en: str) -> SparkplugError:
    shown = topic if len(topic) <= 200 else topic[:200] + "…"
    where_zh, where_en = (f"（主题 {shown}）", f" (topic {shown})") if shown else ("", "")
    return SparkplugError(f"Sparkplug 消息无法读取：{zh}{where_zh}", f"unreadable Sparkplug message: {en}{where_en}",
                          problems=[Problem("/topic" if shown else "/payload", zh, en)])


def parse_payload(payload: bytes, *, topic: str = "", max_bytes: int = MAX_BYTES) -> Any:
    """The ``Payload`` message of ``payload``; a malformed or oversized one raises ``SparkplugError``."""
    if len(payload) > max_bytes:
        raise _error(topic, f"消息 {len(payload)} 字节，超过上限 {max_bytes} 字节",
                     f"the payload is {len(payload)} bytes, over the limit of {max_bytes}")
    message = Payload()
    try:
        message.ParseFromString(bytes(payload))
    except (DecodeError, ValueError):   # ValueError: invalid UTF-8 in a string field
        raise _error(topic, f"消息体（{len(payload)} 字节）不是 Sparkplug B（protobuf）格式，或已截断",
                     f"the payload ({len(payload)} bytes) is not Sparkplug B (protobuf) or is cut short") from None
    if len(message.metrics) > MAX_METRICS:
        raise _error(topic, f"一条消息 {len(message.metrics)} 个指标，超过上限 {MAX_METRICS}",
                     f"{len(message.metrics)} metrics in one payload, over the limit of {MAX_METRICS}")
    return message


@dataclass
class Report:
    """Something the consumer should tell plant IT once: ``kind`` is ``seq_gap``, ``not_born``,
    ``unknown_alias``, ``offline``, ``too_many_nodes``, ``too_many_devices``."""

    kind: str
    key: str
    zh: str
    en: str


@dataclass
class _Scope:
    """The metrics a BIRTH announced for the node or one device: alias → name, name → datatype."""

    names: dict[int, str] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    online: bool = True


@dataclass
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    online: bool = True
    scope: _Scope = field(default_factory=_Scope)
    devices: dict[str, _Scope] = field(default_factory=dict)


class SparkplugDecoder:
    """Decodes a stream of Sparkplug B messages, keeping each edge node's births (see the module
    docstring). One decoder per consumer; not thread-safe (feed it from the consumer's loop)."""

    def __init__(self, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> None:
        self.max_bytes = max_bytes
        self.max_nodes = max_nodes
        self.nodes: dict[str, _Node] = {}
        self.reports: deque[Report] = deque(maxlen=1000)
        self._said: set[tuple[str, str]] = set()

    # -- the stream ---------------------------------------------------------------------------------

    def feed(self, topic: str, payload: bytes) -> list[tuple[str, dict[str, Any]]]:
        """Decode one message: ``[(device key, message dict), …]`` (empty when it carries no machine
        data: STATE, commands, a DATA before its BIRTH). Raises ``SparkplugError`` when malformed."""
        t = parse_topic(topic)
        if t.type in ("STATE", "NCMD", "DCMD"):
            return []
        message = parse_payload(payload, topic=topic, max_bytes=self.max_bytes)
        node = self.nodes.get(t.node_key)
        if t.type == "NBIRTH":
            return self._nbirth(t, message, node)
        if t.type == "NDEATH":
            return self._ndeath(t, message, node)
        if node is None or not node.online:
            self._report("not_born", t.key, "尚未收到该边缘节点的 NBIRTH，消息已跳过（节点重新上线后恢复）",
                         "no NBIRTH from this edge node yet: messages skipped until it is born")
            return []
        self._check_seq(t, message, node)
        if t.type == "DBIRTH":
            if t.device not in node.devices and len(node.devices) >= MAX_DEVICES:
                self._report("too_many_devices", t.node_key, f"一个边缘节点的设备超过 {MAX_DEVICES} 台，新设备被忽略",
                             f"more than {MAX_DEVICES} devices on one edge node: new devices are ignored")
                return []
            scope = node.devices[t.device] = _Scope()
            self._forget(t.key)
            return [(t.key, self._message(t, message, scope, node, birth=True))]
        scope = node.scope if t.device is None else node.devices.get(t.device)
        if scope is None or not scope.online:
            self._report("not_born", t.key, "尚未收到该设备的 DBIRTH，消息已跳过（设备重新上线后恢复）",
                         "no DBIRTH from this device yet: messages skipped until it is born")
            return []
        out = self._message(t, message, scope, node, birth=False)
        if t.type == "DDEATH":
            scope.online = False
            out["online"] = False
        return [(t.key, out)]

    def online(self, key: str) -> bool:
        """Whether the node ``group/edge`` or the device ``group/edge/device`` is online."""
        group, edge, *device = key.split("/", 2)
        node = self.nodes.get(f"{group}/{edge}")
        if node is None or not node.online:
            return False
        return True if not device else bool(node.devices.get(device[0]) and node.devices[device[0]].online)

    # -- message types --------------------------------------------------------------------------------

    def _nbirth(self, t: SparkplugTopic, message: Any, node: _Node | None) -> list[tuple[str, dict[str, Any]]]:
        if node is None:
            if len(self.nodes) >= self.max_nodes:
                self._report("too_many_nodes", t.key, f"边缘节点超过 {self.max_nodes} 个，新节点被忽略",
                             f"more than {self.max_nodes} edge nodes: new nodes are ignored")
                return []
            node = self.nodes[t.node_key] = _Node()
        node.scope, node.devices, node.online = _Scope(), {}, True
        node.seq = message.seq if message.HasField("seq") else 0
        self._forget(t.node_key)
        out = self._message(t, message, node.scope, node, birth=True)
        bd_seq = out["metrics"].get("bdSeq")
        node.bd_seq = bd_seq if isinstance(bd_seq, int) else None
        return [(t.key, out)]

    def _ndeath(self, t: SparkplugTopic, message: Any, node: _Node | None) -> list[tuple[str, dict[str, Any]]]:
        bd_seq = next((metric_value(m, m.datatype or DataType.UInt64) for m in message.metrics
                       if m.name == "bdSeq"), None)
        if node is None or not node.online:
            return []
        if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
            return []   # the will of an older session, delivered after the node was born again
        node.online = False
        self._report("offline", t.key, "边缘节点已离线（NDEATH）", "the edge node went offline (NDEATH)")
        base = {"type": "NDEATH", "timestamp_ms": message.timestamp if message.HasField("timestamp") else None,
                "seq": None, "online": False, "metrics": {"bdSeq": bd_seq}, "metric_timestamps": {},
                "message_key": None}
        out = [(t.key, base)]
        for device, scope in node.devices.items():
            if scope.online:
                scope.online = False
                out.append((f"{t.key}/{device}", {**base, "metrics": {}}))
        return out

    def _message(self, t: SparkplugTopic, message: Any, scope: _Scope, node: _Node, *,
                 birth: bool) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        stamps: dict[str, int] = {}
        for m in message.metrics:
            name = self._name(t, m, scope, node, birth=birth)
            if name is None:
                continue
            datatype = m.datatype if m.HasField("datatype") else scope.types.get(name, DataType.Unknown)
            if birth:
                scope.types[name] = datatype
            if datatype in (DataType.Bytes, DataType.File):
                continue   # a file is no machine state; base64 text is not worth mapping
            try:
                metrics[name] = metric_value(m, datatype)
            except (ValueError, KeyError, IndexError, OverflowError, OSError, struct.error) as exc:
                raise _error(t.topic, f"指标『{name}』的值无法读取：{exc}",
                             f"the value of metric '{name}' cannot be read: {exc}") from None
            if m.HasField("timestamp"):
                stamps[name] = m.timestamp
        return {"type": t.type, "timestamp_ms": message.timestamp if message.HasField("timestamp") else None,
                "seq": message.seq if message.HasField("seq") else None, "online": True,
                "metrics": metrics, "metric_timestamps": stamps, "message_key": self._key(t, node, message)}

    def _name(self, t: SparkplugTopic, m: Any, scope: _Scope, node: _Node, *, birth: bool) -> str | None:
        if isinstance(m.name, bytes):
            raise _error(t.topic, "指标名不是 UTF-8 文本", "a metric name is not UTF-8 text")
        if birth:
            if m.HasField("alias"):
                scope.names[m.alias] = m.name
            return m.name
        if m.name:
            return m.name
        if m.HasField("alias"):
            # aliases are unique across the whole edge node (§6.4.3): a device may use the node's
            name = scope.names.get(m.alias) or node.scope.names.get(m.alias)
            if name is not None:
                return name
            self._report(f"unknown_alias:{m.alias}", t.key,
                         f"别名 {m.alias} 未在 BIRTH 中声明，该指标已跳过",
                         f"alias {m.alias} was not announced in a BIRTH: the metric is skipped")
        return None

    def _check_seq(self, t: SparkplugTopic, message: Any, node: _Node) -> None:
        if not message.HasField("seq"):
            return
        seq = message.seq
        if node.seq is not None and seq != node.seq:   # the same seq again: a redelivery, no gap
            expected = (node.seq + 1) % 256
            if seq != expected:
                missing = (seq - expected) % 256
                self.reports.append(Report("seq_gap", t.key,
                                           f"序号跳变：应为 {expected}，收到 {seq}（约缺 {missing} 条消息），消息仍已采用",
                                           f"sequence gap: expected {expected}, got {seq} (about {missing} "
                                           "messages missing); the message is still used"))
                log.warning("Sparkplug %s: seq %s, expected %s", t.key, seq, expected)
        node.seq = seq

    @staticmethod
    def _key(t: SparkplugTopic, node: _Node, message: Any) -> str | None:
        """The message's id for exactly-once ingestion, ``spb:<device key>:<n>`` with n = payload
        time (ms) × 256 + seq: the same for a redelivery, larger for every later message of the
        device (the ingest keeps the last n per machine and skips what is not above it). None when
        the payload has no time or no seq."""
        if not (message.HasField("timestamp") and message.HasField("seq")):
            return None
        return f"spb:{t.key}:{message.timestamp * 256 + message.seq % 256}"

    def _report(self, kind: str, key: str, zh: str, en: str) -> None:
        if (kind, key) in self._said:
            return
        if len(self._said) >= 100_000:   # a publisher inventing aliases cannot grow this without bound
            self._said.clear()
        self._said.add((kind, key))
        self.reports.append(Report(kind.split(":")[0], key, zh, en))
        log.warning("Sparkplug %s: %s", key, en)

    def _forget(self, key: str) -> None:
        """A BIRTH starts over: what was said about this node or device may be said again."""
        self._said = {(k, s) for k, s in self._said if s != key and not s.startswith(key + "/")}


def ingest_topic(key: str) -> str:
    """The topic a decoded message is ingested under: ``spBv1.0/<group>/DDATA/<edge>/<device>`` for a
    device and ``spBv1.0/<group>/NDATA/<edge>`` for the edge node, whatever the message type (BIRTH,
    DATA, DEATH: ``payload["type"]``), so one device mapping covers a device's whole session."""
    group, edge, *device = key.split("/", 2)
    return f"{NAMESPACE}/{group}/DDATA/{edge}/{device[0]}" if device else f"{NAMESPACE}/{group}/NDATA/{edge}"


def submit(decoder: SparkplugDecoder, ingest: Any, topic: str, payload: bytes, received_at: Any) -> int:
    """Decode one Sparkplug message and hand each device's message to the device ingest
    (``ingest.submit(topic, payload, received_at, message_key)``, ``mom.engines.devices.ingest``):
    the topic from :func:`ingest_topic`, the payload the decoder's dict. Returns how many were
    submitted; a malformed message raises ``SparkplugError`` (log it and go on)."""
    out = decoder.feed(topic, payload)
    for key, message in out:
        ingest.submit(ingest_topic(key), message, received_at, message["message_key"])
    return len(out)


def encode_payload(metrics: Mapping[str, Any], *, seq: int | None, timestamp_ms: int, birth: bool = False,
                   aliases: Mapping[str, int] | None = None,
                   types: Mapping[str, DataType] | None = None) -> bytes:
    """A Sparkplug B payload of ``metrics`` ({name: value}), each stamped ``timestamp_ms``.

    ``seq`` None leaves it out (NDEATH). ``aliases`` ({name: alias}): a BIRTH carries name, alias
    and datatype; a DATA only the alias (§6.4.3). Without aliases every metric carries its name.
    ``types`` sets a metric's datatype ({"Supply Voltage": DataType.Float}); otherwise it follows the
    value: bool Boolean, int Int64, float Double, str String, datetime DateTime (bdSeq UInt64).
    """
    message = Payload(timestamp=timestamp_ms)
    if seq is not None:
        message.seq = seq
    for name, value in metrics.items():
        m: Any = message.metrics.add()
        alias = (aliases or {}).get(name)
        if alias is not None:
            m.alias = alias
        if birth or alias is None:
            m.name = name
        m.timestamp = timestamp_ms
        datatype = (types or {}).get(name) or (DataType.UInt64 if name == "bdSeq" else
                                               infer_datatype(value) if value is not None else DataType.Unknown)
        set_metric_value(m, datatype, value)
    return message.SerializeToString()


def decode_payload(payload: bytes) -> dict[str, Any]:
    """One payload on its own (no session: aliases stay unresolved), for diagnostics and tests:
    ``{"timestamp_ms", "seq", "metrics": [{"name", "alias", "datatype", "value"}, …]}``."""
    message = parse_payload(payload)
    try:
        return _plain(message)
    except (ValueError, KeyError, IndexError, OverflowError, OSError, struct.error) as exc:
        raise _error("", f"指标无法读取：{exc}", f"a metric cannot be read: {exc}") from None


def _plain(message: Any) -> dict[str, Any]:
    return {"timestamp_ms": message.timestamp if message.HasField("timestamp") else None,
            "seq": message.seq if message.HasField("seq") else None,
            "metrics": [{"name": text(m.name) or None, "alias": m.alias if m.HasField("alias") else None,
                         "datatype": DataType(m.datatype).name if m.datatype in DataType._value2member_map_ else m.datatype,
                         "value": metric_value(m, m.datatype)} for m in message.metrics]}


__all__ = ["DataType", "Metric", "Payload", "Report", "SparkplugDecoder", "SparkplugError", "SparkplugTopic",
           "decode_payload", "encode_payload", "ingest_topic", "is_sparkplug", "parse_payload", "parse_topic",
           "submit"]
