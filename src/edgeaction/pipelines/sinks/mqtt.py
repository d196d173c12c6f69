"""The `mqtt` sink: each event published with QoS 1 to a topic per stream and zone."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from urllib.parse import unquote, urlsplit

from ... import options
from ...errors import fail
from .network import NetworkSink

USERNAME_ENV, PASSWORD_ENV = "EDGEACTION_MQTT_USERNAME", "EDGEACTION_MQTT_PASSWORD"
CAFILE_ENV = "EDGEACTION_MQTT_CAFILE"
#: Messages published and not yet acknowledged (PUBACK) at once (paho's own limit is 20).
WINDOW = 16
#: An event unacknowledged this long on a live connection is published again.
RESEND_S = 15.0


def _paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        fail(
            "--mqtt needs paho-mqtt 2.x: pip install 'edgeaction[mqtt]' (or pip install "
            "'paho-mqtt>=2,<3')"
        )
    return mqtt


class MqttSink(NetworkSink):
    """Publish every event (its JSON) to an MQTT broker, QoS 1, in order.

    `mqtt://HOST[:PORT]/TOPIC` (port 1883) or `mqtts://` (TLS, port 8883, the system's
    CA certificates or the file in `EDGEACTION_MQTT_CAFILE`). TOPIC may hold `{stream}`
    (the stream's index) and `{zone}` (the event's zone, `all` without zones). The
    username and password come from `EDGEACTION_MQTT_USERNAME` / `EDGEACTION_MQTT_PASSWORD`
    only, and are never logged. An event leaves the spool when the broker's PUBACK for it
    came; a broker that is down or unreachable (at start too) is retried every few
    seconds while events spool, with one line when it goes and one when it is back.

    Args:
        target: String. The broker URL (see `options.mqtt_url`).
        **kwargs: See `NetworkSink`.
    """

    kind = "mqtt"
    option = "--mqtt"
    metavar = "mqtt://HOST:PORT/TOPIC"
    help = (
        "publish each event (QoS 1) to this MQTT broker; TOPIC may hold {stream} and {zone}; "
        f"credentials from ${USERNAME_ENV} / ${PASSWORD_ENV}; TLS with mqtts://"
    )
    convert = staticmethod(options.mqtt_url)

    def __init__(self, target: str, **kwargs):
        super().__init__(target, **kwargs)
        u = urlsplit(target)
        self.tls = u.scheme.lower() == "mqtts"
        self.host, self.port = u.hostname, u.port or (8883 if self.tls else 1883)
        self.topic = unquote(u.path[1:])
        self.shown = f"{u.scheme}://{self.host}:{self.port}"
        _paho()  # a missing extra is said now, not at the first event
        self._client = None
        self._inflight: deque = deque()  # (seq, MQTTMessageInfo, time published)
        # Message ids the broker acknowledged (on_publish). Not info.is_published(): it
        # raises for a message published while the connection was dropping, which paho
        # still holds and sends after reconnecting.
        self._acked: set[int] = set()
        self._ack = threading.Condition()
        self._state = "new"  # new, up, down
        self._said: str | None = None

    def key(self, event: dict) -> str:
        zone = event.get("zone")
        return self.topic.format(stream=event.get("stream", "all"), zone=zone or "all")

    # ---- the connection (paho's own thread reconnects with back-off) ----------------------
    def _connect(self) -> None:
        mqtt = _paho()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        user = os.environ.get(USERNAME_ENV)
        if user:
            c.username_pw_set(user, os.environ.get(PASSWORD_ENV))
        if self.tls:
            c.tls_set(ca_certs=os.environ.get(CAFILE_ENV) or None)
        c.reconnect_delay_set(1, 4)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_publish = self._on_publish
        self._client = c
        c.connect_async(self.host, self.port, keepalive=30)
        c.loop_start()

    def _say(self, line: str) -> None:
        if line != self._said:  # one line per change, not per retry
            self._said = line
            self.log(f"{self.kind} {self.shown}: {line}")

    def _on_connect(self, _c, _u, _flags, reason, _props) -> None:
        if reason.is_failure:
            self._state = "down"
            self._say(f"the broker refused the connection ({reason}); events are spooled")
            return
        if self._state == "down":
            self._say(f"connected again; sending {len(self.spool)} spooled events")
        self._state = "up"
        self._said = None
        self._wake.set()

    def _on_disconnect(self, _c, _u, _flags, reason, _props) -> None:
        if self.stopping:
            return
        self._state = "down"
        why = "the connection closed" if str(reason) == "Unspecified error" else str(reason)
        self._say(f"lost the broker ({why}); events are spooled until it is back")

    def _on_connect_fail(self, _c, _u) -> None:
        if self._state == "down":  # already said: lost, or refused
            return
        self._state = "down"
        self._say("cannot reach the broker; events are spooled until it answers")

    def _on_publish(self, _c, _u, mid, _reason, _props) -> None:
        with self._ack:
            self._acked.add(mid)
            self._ack.notify()

    # ---- delivery -------------------------------------------------------------------------
    def _deliver(self) -> None:
        if self._client is None:
            self._connect()
        while not self.stopping and self._state == "up":
            self._publish_window()
            if not self._inflight:
                return
            mid = self._inflight[0][1].mid
            with self._ack:
                self._ack.wait_for(lambda m=mid: m in self._acked, timeout=0.2)
            self._collect_acks()
            self._resend_stale()

    def _publish_window(self) -> None:
        last = self._inflight[-1][0] if self._inflight else 0
        for seq, topic, body in self.spool.peek(after=last, n=WINDOW - len(self._inflight)):
            info = self._client.publish(topic, body, qos=1)
            self._inflight.append((seq, info, time.monotonic()))

    def _collect_acks(self) -> None:
        upto = None
        with self._ack:
            while self._inflight and self._inflight[0][1].mid in self._acked:
                seq, info, _t = self._inflight.popleft()
                self._acked.discard(info.mid)
                upto = seq
                self.delivered += 1
        if upto is not None:
            self.spool.ack(upto)

    def _resend_stale(self) -> None:
        """paho re-sends in-flight messages after a reconnect; should one still go
        unanswered on a live connection, publish again (a duplicate with the same id)."""
        if not self._inflight or time.monotonic() - self._inflight[0][2] < RESEND_S:
            return
        rows = {seq for seq, _i, _t in self._inflight}
        self._inflight.clear()
        for seq, topic, body in self.spool.peek(after=min(rows) - 1, n=len(rows)):
            info = self._client.publish(topic, body, qos=1)
            self._inflight.append((seq, info, time.monotonic()))

    def _stop_transport(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
