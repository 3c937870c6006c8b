"""Sparkplug B session rules in the decoder (connectors/mqtt/sparkplug.py): aliases from NBIRTH/DBIRTH
resolved in NDATA/DDATA, seq 0–255 with wrap and gaps, NDEATH/bdSeq, DATA before BIRTH — the message
flow of Eclipse Sparkplug 3.0 (§5 "Operational Behavior", §6.4.18–6.4.24), with the spec's own NBIRTH
example (edge node "Raspberry Pi" in group "Sparkplug B Devices")."""
from __future__ import annotations

from mom.connectors.mqtt.sparkplug import SparkplugDecoder, encode_payload, submit
from mom.connectors.mqtt.sparkplug_payload import DataType, Payload

TS = 1486144502122
G = "spBv1.0/Sparkplug B Devices"
NODE_ALIASES = {"bdSeq": 0, "Node Control/Rebirth": 1, "Node Control/Scan Rate": 2, "Supply Voltage": 3}
DEV_ALIASES = {"Inputs/A": 10, "Count/Total": 11, "Temperature": 12, "State": 13}


def nbirth(bd_seq: int = 0) -> bytes:
    # the spec's NBIRTH example (§6.4.18), cut to its bdSeq, rebirth, scan rate and voltage metrics
    return encode_payload({"bdSeq": bd_seq, "Node Control/Rebirth": False, "Node Control/Scan Rate": 3000,
                           "Supply Voltage": 12.1}, seq=0, timestamp_ms=TS, birth=True, aliases=NODE_ALIASES,
                          types={"Supply Voltage": DataType.Float})


def dbirth(seq: int = 1) -> bytes:
    return encode_payload({"Inputs/A": False, "Count/Total": 0, "Temperature": 20, "State": "idle"}, seq=seq,
                          timestamp_ms=TS, birth=True, aliases=DEV_ALIASES,
                          types={"Count/Total": DataType.UInt32, "Temperature": DataType.Int8})


def ddata(metrics: dict, seq: int, ts: int = TS + 1000) -> bytes:
    return encode_payload(metrics, seq=seq, timestamp_ms=ts, aliases=DEV_ALIASES,
                          types={"Count/Total": DataType.UInt32, "Temperature": DataType.Int8})


def born() -> SparkplugDecoder:
    d = SparkplugDecoder()
    d.feed(f"{G}/NBIRTH/Raspberry Pi", nbirth())
    d.feed(f"{G}/DBIRTH/Raspberry Pi/Pibrella", dbirth())
    return d


def test_births_announce_names_and_data_by_alias_reads_as_names() -> None:
    d = SparkplugDecoder()
    [(key, birth)] = d.feed(f"{G}/NBIRTH/Raspberry Pi", nbirth())
    assert key == "Sparkplug B Devices/Raspberry Pi"
    assert birth["type"] == "NBIRTH" and birth["seq"] == 0 and birth["timestamp_ms"] == TS
    assert birth["metrics"] == {"bdSeq": 0, "Node Control/Rebirth": False, "Node Control/Scan Rate": 3000,
                                "Supply Voltage": 12.1}
    d.feed(f"{G}/DBIRTH/Raspberry Pi/Pibrella", dbirth())
    [(key, data)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 17, "State": "running"}, seq=2))
    assert key == "Sparkplug B Devices/Raspberry Pi/Pibrella"
    assert data["type"] == "DDATA" and data["metrics"] == {"Count/Total": 17, "State": "running"}
    assert data["metric_timestamps"] == {"Count/Total": TS + 1000, "State": TS + 1000}
    # the node's own data by alias
    [(key, node)] = d.feed(f"{G}/NDATA/Raspberry Pi", encode_payload(
        {"Supply Voltage": 12.3}, seq=3, timestamp_ms=TS, aliases=NODE_ALIASES, types={"Supply Voltage": DataType.Float}))
    assert key == "Sparkplug B Devices/Raspberry Pi" and node["metrics"] == {"Supply Voltage": 12.3}
    assert not d.reports


def test_a_data_metric_without_datatype_takes_the_one_its_birth_announced() -> None:
    d = born()
    payload = Payload(timestamp=TS, seq=2)
    m = payload.metrics.add(alias=12, timestamp=TS)   # Temperature, Int8 in the DBIRTH; no datatype here
    m.int_value = 0xFFFF_FFF6                          # -10 as a 32-bit two's complement
    [(_, data)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", payload.SerializeToString())
    assert data["metrics"] == {"Temperature": -10}


def test_seq_wraps_after_255_and_a_gap_is_reported_but_the_message_used() -> None:
    d = born()   # NBIRTH 0, DBIRTH 1
    for seq in range(2, 256):
        d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": seq}, seq=seq))
    [(_, wrapped)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 256}, seq=0))
    assert wrapped["metrics"] == {"Count/Total": 256} and not d.reports
    [(_, after_gap)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 300}, seq=4))
    assert after_gap["metrics"] == {"Count/Total": 300}
    [gap] = d.reports
    assert gap.kind == "seq_gap" and "expected 1, got 4" in gap.en and "应为 1，收到 4" in gap.zh
    # counting on from the new seq: no second report
    d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 301}, seq=5))
    assert len(d.reports) == 1


def test_data_before_its_birth_is_reported_once_and_skipped_until_the_birth() -> None:
    d = SparkplugDecoder()
    for seq in (5, 6, 7):
        assert d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": seq}, seq=seq)) == []
    assert [(r.kind, r.key) for r in d.reports] == [("not_born", "Sparkplug B Devices/Raspberry Pi/Pibrella")]
    d.feed(f"{G}/NBIRTH/Raspberry Pi", nbirth())
    # the node is born, the device not yet: reported once for the device, still skipped
    assert d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 8}, seq=1)) == []
    assert len(d.reports) == 2
    d.feed(f"{G}/DBIRTH/Raspberry Pi/Pibrella", dbirth(seq=2))
    [(_, data)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 9}, seq=3))
    assert data["metrics"] == {"Count/Total": 9}


def test_an_alias_no_birth_announced_is_reported_once_and_the_other_metrics_kept() -> None:
    d = born()
    raw = encode_payload({"Count/Total": 4, "Ghost": 1.5}, seq=2, timestamp_ms=TS,
                         aliases={**DEV_ALIASES, "Ghost": 99}, types={"Count/Total": DataType.UInt32})
    [(_, data)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", raw)
    assert data["metrics"] == {"Count/Total": 4}
    raw = encode_payload({"Ghost": 1.6}, seq=3, timestamp_ms=TS, aliases={"Ghost": 99})
    d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", raw)
    assert [(r.kind, r.en) for r in d.reports] == [
        ("unknown_alias", "alias 99 was not announced in a BIRTH: the metric is skipped")]


def test_ndeath_with_the_births_bdseq_takes_node_and_devices_offline() -> None:
    d = born()
    # a late NDEATH of an earlier session (bdSeq 7, the node was born with 0) changes nothing
    assert d.feed(f"{G}/NDEATH/Raspberry Pi", encode_payload({"bdSeq": 7}, seq=None, timestamp_ms=TS)) == []
    assert d.online("Sparkplug B Devices/Raspberry Pi/Pibrella")
    out = d.feed(f"{G}/NDEATH/Raspberry Pi", encode_payload({"bdSeq": 0}, seq=None, timestamp_ms=TS + 5))
    assert [(k, m["type"], m["online"]) for k, m in out] == [
        ("Sparkplug B Devices/Raspberry Pi", "NDEATH", False),
        ("Sparkplug B Devices/Raspberry Pi/Pibrella", "NDEATH", False)]
    assert not d.online("Sparkplug B Devices/Raspberry Pi")
    assert not d.online("Sparkplug B Devices/Raspberry Pi/Pibrella")
    # data after the death waits for the next birth
    assert d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 1}, seq=2)) == []
    d.feed(f"{G}/NBIRTH/Raspberry Pi", nbirth(bd_seq=1))
    assert d.online("Sparkplug B Devices/Raspberry Pi")
    assert not d.online("Sparkplug B Devices/Raspberry Pi/Pibrella")   # until its DBIRTH


def test_ddeath_takes_one_device_offline() -> None:
    d = born()
    [(_, death)] = d.feed(f"{G}/DDEATH/Raspberry Pi/Pibrella", encode_payload({}, seq=2, timestamp_ms=TS))
    assert death["type"] == "DDEATH" and death["online"] is False
    assert d.online("Sparkplug B Devices/Raspberry Pi")
    assert not d.online("Sparkplug B Devices/Raspberry Pi/Pibrella")


def test_a_rebirth_forgets_the_old_aliases() -> None:
    d = born()
    d.feed(f"{G}/NBIRTH/Raspberry Pi", nbirth(bd_seq=1))
    other = {"Spindle/RPM": 10}
    d.feed(f"{G}/DBIRTH/Raspberry Pi/Pibrella",
           encode_payload({"Spindle/RPM": 0}, seq=1, timestamp_ms=TS, birth=True, aliases=other))
    [(_, data)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella",
                         encode_payload({"Spindle/RPM": 1450}, seq=2, timestamp_ms=TS, aliases=other))
    assert data["metrics"] == {"Spindle/RPM": 1450}


def test_commands_and_host_state_carry_no_machine_data() -> None:
    d = born()
    assert d.feed(f"{G}/DCMD/Raspberry Pi/Pibrella", encode_payload({"Outputs/E": True}, seq=None, timestamp_ms=TS)) == []
    assert d.feed("spBv1.0/STATE/scada-1", b'{"online": true, "timestamp": 1486144502122}') == []


def test_message_keys_repeat_for_a_redelivery_and_differ_otherwise() -> None:
    d = born()
    raw = ddata({"Count/Total": 5}, seq=2)
    [(_, first)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", raw)
    [(_, again)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", raw)
    [(_, nxt)] = d.feed(f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 6}, seq=3))
    assert first["message_key"] == again["message_key"] != nxt["message_key"]


def test_submit_hands_each_device_message_to_the_ingest_under_one_topic_per_device() -> None:
    class Inbox:   # the device ingest's submit() signature (mom.engines.devices.ingest.DeviceIngest)
        def __init__(self) -> None:
            self.got: list[tuple] = []

        def submit(self, topic, payload, received_at, message_key) -> None:
            self.got.append((topic, payload["type"], payload["metrics"], message_key))

    d, inbox = SparkplugDecoder(), Inbox()
    submit(d, inbox, f"{G}/NBIRTH/Raspberry Pi", nbirth(), "now")
    submit(d, inbox, f"{G}/DBIRTH/Raspberry Pi/Pibrella", dbirth(), "now")
    submit(d, inbox, f"{G}/DDATA/Raspberry Pi/Pibrella", ddata({"Count/Total": 3}, seq=2), "now")
    topics = [(t, kind) for t, kind, _, _ in inbox.got]
    assert topics == [(f"{G}/NDATA/Raspberry Pi", "NBIRTH"), (f"{G}/DDATA/Raspberry Pi/Pibrella", "DBIRTH"),
                      (f"{G}/DDATA/Raspberry Pi/Pibrella", "DDATA")]
    # message keys grow with time × 256 + seq, so the ingest's per-machine cursor keeps them in order
    keys = [int(k.rsplit(":", 1)[1]) for *_, k in inbox.got[1:]]
    assert keys == [TS * 256 + 1, (TS + 1000) * 256 + 2]


def test_memory_stays_bounded_when_a_broker_announces_too_many_edge_nodes() -> None:
    d = SparkplugDecoder(max_nodes=2)
    for edge in ("a", "b", "c", "d"):
        d.feed(f"{G}/NBIRTH/{edge}", nbirth())
    assert len(d.nodes) == 2 and not d.online("Sparkplug B Devices/c")
    assert [r.kind for r in d.reports] == ["too_many_nodes", "too_many_nodes"]
