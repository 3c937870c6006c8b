"""The device data consumer (`mom devices listen`): subscribes to the configured topics on an MQTT broker and
hands every message to the devices engine (:class:`mom.engines.devices.ingest.DeviceIngest`).

Exactly-once, end to end:

- QoS 1 subscriptions on a persistent session (MQTT 5 ``clean_start=False`` with a session expiry; the
  broker keeps queuing while the consumer is down) under a fixed client id (``MOM_MQTT_CLIENT_ID``);
- acknowledgements are manual: a message's PUBACK is sent only after the transaction holding its effects
  (and the per-device cursor) has committed. A consumer killed before that gets the message again from the
  broker; one killed after the commit but before the PUBACK gets it again too, and the cursor recognises
  it (same sequence) — it is counted once;
- after a reconnection (the network thread reconnects by itself) messages still queued from the old connection
  are dropped unacknowledged — the broker sends them again — and a packet id is acknowledged only on the
  connection it arrived on (ids are reused per connection);
- a flush writes at most ``mqtt_flush_messages`` messages, at least every ``mqtt_flush_ms``; the client's
  Receive Maximum lets the broker keep that many unacknowledged messages in flight;
- a payload over ``mqtt_max_payload_bytes``, not JSON, or not an object is logged and skipped (and
  acknowledged: a redelivery would fail the same way); Sparkplug B topics (``spBv1.0/…``) go through the
  Sparkplug decoder (:mod:`mom.connectors.mqtt.sparkplug`); the database being unreachable is retried,
  nothing is acknowledged meanwhile.
"""
from __future__ import annotations

import collections
import datetime as dt
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mom.connectors.mqtt import sparkplug
from mom.engines.devices.ingest import DeviceIngest, DeviceMessage, IngestReport
from mom.platform.settings import Settings

log = logging.getLogger("mom.devices.mqtt")
UTC = dt.timezone.utc
RECEIVE_MAXIMUM = 65535


def make_client(settings: Settings, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho client (MQTT 5) with the settings' credentials and TLS."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    if settings.mqtt_user:
        c.username_pw_set(settings.mqtt_user, settings.mqtt_password or None)
    if settings.mqtt_tls:
        c.tls_set(ca_certs=settings.mqtt_ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


def connect(c: mqtt.Client, settings: Settings, *, persistent: bool, keepalive: int = 30) -> None:
    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = int(settings.mqtt_session_expiry_s)
        props.ReceiveMaximum = RECEIVE_MAXIMUM
    c.connect(settings.mqtt_host, settings.mqtt_port, keepalive=keepalive, clean_start=not persistent, properties=props)


def topics(settings: Settings) -> list[str]:
    return [t.strip() for t in settings.mqtt_topics.split(",") if t.strip()]


class DeviceConsumer:
    """Subscribe, batch, write, then acknowledge. ``run`` blocks until ``stop`` is set."""

    def __init__(self, engine: sa.engine.Engine, forms: Any, settings: Settings, *, client_id: str | None = None,
                 topic_filters: list[str] | None = None, tz: dt.tzinfo = UTC,
                 on_flush: Callable[[IngestReport, list[DeviceMessage]], None] | None = None) -> None:
        self.settings = settings
        self.client_id = client_id or settings.mqtt_client_id
        self.filters = topic_filters or topics(settings)
        self.ingest = DeviceIngest(engine, forms, source="mqtt", tz=tz)
        self.decoder = sparkplug.SparkplugDecoder(max_bytes=settings.mqtt_max_payload_bytes)
        self.queue: collections.deque[tuple[int, int, str, bytes, dt.datetime, int]] = collections.deque()
        self.arrived = threading.Event()
        self.connected = threading.Event()
        self.on_flush = on_flush
        self.skipped = 0
        self.received = 0
        self.generation = 0      # one per connection: a packet id is only acknowledged on the connection it came on

    # ------------------------------------------------------------ paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker %s:%s refused the connection: %s", self.settings.mqtt_host, self.settings.mqtt_port, reason)
            return
        self.generation += 1     # messages of the old connection still queued: the broker sends them again
        self.queue.clear()
        for f in self.filters:
            client.subscribe(f, qos=1)
        log.info("connected to %s:%s, session present %s, subscribed %s", self.settings.mqtt_host, self.settings.mqtt_port,
                 getattr(flags, "session_present", None), ", ".join(self.filters))
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.queue.append((msg.mid, msg.qos, msg.topic, msg.payload, dt.datetime.now(UTC), self.generation))
        self.received += 1
        if len(self.queue) >= self.settings.mqtt_flush_messages:
            self.arrived.set()

    # ------------------------------------------------------------ decoding
    def decode(self, topic: str, payload: bytes, received_at: dt.datetime) -> list[DeviceMessage]:
        """One MQTT message → the engine's messages; a bad one is logged and gives none."""
        if len(payload) > self.settings.mqtt_max_payload_bytes:
            self._skip(topic, f"payload of {len(payload)} bytes is over the limit of {self.settings.mqtt_max_payload_bytes}")
            return []
        if sparkplug.is_sparkplug(topic):
            try:
                decoded = self.decoder.feed(topic, payload)
            except sparkplug.SparkplugError as exc:
                self._skip(topic, exc.en)
                return []
            # one topic per device whatever the type (BIRTH/DATA/DEATH), so an NDEATH reaches each device's mapping
            return [DeviceMessage(sparkplug.ingest_topic(key), m, received_at, m.get("message_key"))
                    for key, m in decoded if m.get("metrics") is not None]
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            self._skip(topic, f"not JSON ({str(exc)[:100]})")
            return []
        if not isinstance(doc, dict):
            self._skip(topic, "the JSON is not an object")
            return []
        return [DeviceMessage(topic, doc, received_at, None)]

    def _skip(self, topic: str, why: str) -> None:
        self.skipped += 1
        log.warning("MQTT message on %s skipped: %s", topic[:200], why)

    # ------------------------------------------------------------ the loop
    def _take(self) -> list[tuple[int, int, str, bytes, dt.datetime, int]]:
        out = []
        n = self.settings.mqtt_flush_messages
        while self.queue and len(out) < n:
            out.append(self.queue.popleft())
        return out

    def _write(self, client: mqtt.Client, raw: list[tuple[int, int, str, bytes, dt.datetime, int]], stop: threading.Event) -> None:
        msgs: list[DeviceMessage] = []
        for _, _, topic, payload, at, _ in raw:
            msgs.extend(self.decode(topic, payload, at))
        while msgs:
            try:
                rep = self.ingest.flush(msgs)
                break
            except sa.exc.OperationalError as exc:      # the database is away: keep the messages, try again
                log.error("device data not written (database unreachable), retrying: %s", str(exc)[:200])
                if stop.wait(2.0):
                    return                               # not acknowledged: the broker delivers them again
        else:
            rep = IngestReport()
        if self.on_flush is not None:
            self.on_flush(rep, msgs)
        for mid, qos, _, _, _, gen in raw:
            if qos > 0 and gen == self.generation:
                client.ack(mid, qos)

    def run(self, stop: threading.Event | None = None, *, idle_exit_s: float | None = None) -> IngestReport:
        """Consume until ``stop`` is set (or, given ``idle_exit_s``, until nothing arrived for that long)."""
        stop = stop or threading.Event()
        client = make_client(self.settings, self.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        connect(client, self.settings, persistent=True)
        client.loop_start()
        last_arrival = time.monotonic()
        wait = self.settings.mqtt_flush_ms / 1000
        try:
            while not stop.is_set():
                self.arrived.wait(wait)
                self.arrived.clear()
                if not self.queue:
                    if idle_exit_s is not None and self.connected.is_set() and time.monotonic() - last_arrival > idle_exit_s:
                        break
                    continue
                last_arrival = time.monotonic()
                while self.queue and not stop.is_set():
                    self._write(client, self._take(), stop)
        finally:
            client.disconnect()
            client.loop_stop()
        return self.ingest.totals
