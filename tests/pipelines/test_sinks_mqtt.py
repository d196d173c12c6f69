"""`run --mqtt` against a real Mosquitto broker started here: nothing lost while it is down.

Debian's `mosquitto` (scripts/setup.sh installs it) listens on a free loopback port; a
paho subscriber with a persistent session (the broker keeps its subscription and queues
for it across a restart) counts every event. The run's own events file is the truth.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import cli

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto")
paho = pytest.importorskip("paho.mqtt.client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A real broker on `port` (loopback, anonymous, persistent in `workdir`)."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or free_port()
        self.dir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\n"
            f"persistence_location {workdir}/\nautosave_interval 1\nlog_type all\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        log = open(self.dir / "mosquitto.log", "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise AssertionError((self.dir / "mosquitto.log").read_text())

    def save(self) -> None:
        """Write the persistence database now (SIGUSR1): the subscriber's session survives."""
        db = self.dir / "mosquitto.db"
        db.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.exists()

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


class Subscriber:
    """A paho subscriber to `topic` (QoS 1, persistent session) collecting every message."""

    def __init__(self, port: int, topic: str = "ea/#"):
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        c = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"ea-test-{port}", clean_session=False
        )
        c.reconnect_delay_set(1, 1)
        c.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        c.on_subscribe = lambda *_: self.subscribed.set()
        c.on_message = self._on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        assert self.subscribed.wait(10)

    def _on_message(self, _c, _u, msg) -> None:
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def wait_for(self, ids: set[str], timeout: float = 30.0) -> set[str]:
        """Wait until every id in `ids` arrived (or `timeout`); return the missing ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                missing = ids - {m["id"] for _t, m in self.messages}
            if not missing:
                return missing
            time.sleep(0.1)
        return missing

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path).start()
    yield b
    b.kill()


def read_events(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def check_delivery(events: list[dict], received: list[tuple[str, dict]], topic) -> int:
    """0 lost; every duplicate repeats an id with the same body; per stream in order.
    Returns the number of duplicates."""
    first: dict[str, dict] = {}
    for t, m in received:
        if m["id"] in first:
            assert first[m["id"]] == m, "a redelivery changed the event"
        else:
            first[m["id"]] = m
            assert t == topic(m)
    assert set(first) == {e["id"] for e in events}, "events lost or invented"
    for e in events:
        assert first[e["id"]] == e
    for run_stream in {e["id"].rsplit("-", 1)[0] for e in events}:  # RUN-STREAM
        seqs = [int(i.rsplit("-", 1)[1]) for i in first if i.startswith(run_stream + "-")]
        assert seqs == sorted(seqs), f"{run_stream} out of order"
    return len(received) - len(first)


def run_args(tiny_onnx, port, tmp_path, frames=400, fps=50):
    return [
        sys.executable, "-m", "edgeaction.cli", "run", str(tiny_onnx),
        "--source", f"test://smpte?fps={fps}&frames={frames}",
        "--source", f"test://ball?fps={fps}&frames={frames}",
        "--emit", "every", "--events", str(tmp_path / "ev.jsonl"), "-q",
        "--mqtt", f"mqtt://127.0.0.1:{port}/ea/{{stream}}/{{zone}}",
        "--spool", str(tmp_path / "spool"), "--drain", "10",
    ]  # fmt: skip


def test_broker_killed_mid_run_loses_nothing(tmp_path, tiny_onnx, broker):
    sub = Subscriber(broker.port)
    broker.save()  # the restarted broker keeps the subscription and queues for it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen(
        run_args(tiny_onnx, broker.port, tmp_path), stderr=subprocess.PIPE, text=True, env=env
    )
    time.sleep(3.0)  # the run is publishing (8 s of live video)
    # SIGTERM: the broker saves what it acknowledged. Our side sees what a SIGKILL shows it
    # (the connection drops without a word), but a SIGKILLed Mosquitto can lose messages
    # it had already acknowledged, which no publisher can prevent.
    broker.kill(signal.SIGTERM)
    time.sleep(2.5)  # events spool meanwhile
    broker.start()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert "Traceback" not in err
    assert "lost the broker" in err and "connected again" in err, err
    events = read_events(tmp_path / "ev.jsonl")
    assert len(events) > 300
    missing = sub.wait_for({e["id"] for e in events})
    sub.close()
    assert not missing, f"{len(missing)} of {len(events)} events lost"
    check_delivery(events, sub.messages, lambda m: f"ea/{m['stream']}/all")
    assert "not delivered" not in err


def test_unreachable_broker_at_start_spools_and_delivers_at_next_start(tmp_path, tiny_onnx):
    port = free_port()  # nothing listens there yet
    args = run_args(tiny_onnx, port, tmp_path, frames=30, fps=200)
    args[args.index("--drain") + 1] = "0.5"
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    warn = [x for x in p.stderr.splitlines() if "cannot reach the broker" in x]
    assert len(warn) == 1 and f"127.0.0.1:{port}" in warn[0], p.stderr
    assert "kept in" in p.stderr and "sent at the next start" in p.stderr
    first = read_events(tmp_path / "ev.jsonl")
    assert first and (tmp_path / "spool" / "mqtt.sqlite").exists()

    b = Mosquitto(tmp_path, port).start()
    try:
        sub = Subscriber(port)
        b.save()
        p2 = subprocess.run(
            args[:-2] + ["--drain", "10"], capture_output=True, text=True, timeout=120
        )
        assert p2.returncode == 0, p2.stderr
        assert "left by an earlier run go first" in p2.stderr
        events = read_events(tmp_path / "ev.jsonl")  # appended: both runs
        assert len(events) > len(first)
        assert not sub.wait_for({e["id"] for e in events})
        sub.close()
        check_delivery(events, sub.messages, lambda m: f"ea/{m['stream']}/all")
        got = [m["id"] for _t, m in sub.messages]
        assert got.index(first[0]["id"]) < got.index(events[len(first)]["id"])  # oldest first
    finally:
        b.kill()


def test_bad_mqtt_urls_are_one_line(tmp_path, tiny_onnx):
    from tests.commands import usage_error

    for url, needle in [
        ("mqtt://user:pw@h:1883/t", "EDGEACTION_MQTT_USERNAME"),
        ("mqtt://h:70000/t", "port"),
        ("mqtt://h:1883", "topic"),
        ("mqtt://h/a/{camera}", "{stream} and {zone}"),
        ("mqtt://h/a/#", "wildcards"),
        ("http://h/t", "mqtt://"),
    ]:
        p = cli("run", tiny_onnx, "--source", "x.mp4", "--mqtt", url, check=False)
        line = usage_error(p, "--mqtt", needle)
        assert "pw" not in line


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_mqtts_with_credentials_from_the_environment_never_printed(tmp_path, tiny_onnx):
    key, crt = tmp_path / "broker.key", tmp_path / "broker.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
         "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "cam", "s3cr3t-pw"], check=True)
    b = Mosquitto(tmp_path)
    b.conf.write_text(
        f"listener {b.port} 127.0.0.1\nuser root\nallow_anonymous false\npassword_file {pw}\n"
        f"certfile {crt}\nkeyfile {key}\n"
    )
    b.start()
    try:
        sub = paho.Client(paho.CallbackAPIVersion.VERSION2)
        sub.username_pw_set("cam", "s3cr3t-pw")
        sub.tls_set(ca_certs=str(crt))
        got, ready = [], threading.Event()
        sub.on_connect = lambda c, *_: c.subscribe("ea/#", qos=1)
        sub.on_subscribe = lambda *_: ready.set()
        sub.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
        sub.connect("127.0.0.1", b.port)
        sub.loop_start()
        assert ready.wait(10)
        url = f"mqtts://127.0.0.1:{b.port}/ea/{{stream}}"
        base = ["run", tiny_onnx, "--source", "test://smpte?frames=20&live=0", "--emit",
                "every", "--mqtt", url, "--drain", "1", "--events", tmp_path / "ev.jsonl"]  # fmt: skip
        env = {"EDGEACTION_MQTT_USERNAME": "cam", "EDGEACTION_MQTT_CAFILE": str(crt)}
        bad = cli(*base, env={**env, "EDGEACTION_MQTT_PASSWORD": "wrong"}, check=False)
        assert bad.returncode == 0, bad.stderr  # refused: one line, the run goes on
        said = [x for x in bad.stderr.splitlines() if "mqtt" in x]
        assert "refused the connection" in said[0] and "wrong" not in bad.stderr, bad.stderr
        assert "could not be delivered and are lost" in said[-1]
        before = len(read_events(tmp_path / "ev.jsonl"))
        p = cli(*base, env={**env, "EDGEACTION_MQTT_PASSWORD": "s3cr3t-pw"})
        assert "s3cr3t" not in p.stderr + p.stdout
        events = read_events(tmp_path / "ev.jsonl")[before:]  # the second run's
        deadline = time.monotonic() + 10
        while len(got) < len(events) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m["id"] for m in got] == [e["id"] for e in events]
        sub.disconnect()
        sub.loop_stop()
    finally:
        b.kill()


def test_sinks_from_the_site_file(tmp_path, tiny_onnx, broker):
    sub = Subscriber(broker.port)
    site = tmp_path / "site.toml"
    site.write_text(
        f'model = "{tiny_onnx}"\nemit = "every"\n\n[[camera]]\n'
        'source = "test://smpte?frames=20&live=0"\n\n[sinks]\n'
        f'events = "{tmp_path / "ev.jsonl"}"\n'
        f'mqtt = "mqtt://127.0.0.1:{broker.port}/ea/{{stream}}/{{zone}}"\n'
        f'spool = "{tmp_path / "spool"}"\nspool-max-mb = 10\ndrain = 10\n'
    )
    cli("run", "--config", site, "-q")
    events = read_events(tmp_path / "ev.jsonl")
    assert len(events) == 9 and not sub.wait_for({e["id"] for e in events}, timeout=10)
    sub.close()
    assert (tmp_path / "spool" / "mqtt.sqlite").exists()


def test_each_zone_publishes_to_its_own_topic(tmp_path, tiny_onnx, broker):
    sub = Subscriber(broker.port)
    cli("run", tiny_onnx, "--source", "test://smpte?frames=20&live=0", "--emit", "every",
        "--roi", "0:left=0,0,160,240", "--roi", "0:right=160,0,160,240",
        "--events", tmp_path / "ev.jsonl", "--mqtt",
        f"mqtt://127.0.0.1:{broker.port}/ea/{{stream}}/{{zone}}", "-q")  # fmt: skip
    events = read_events(tmp_path / "ev.jsonl")
    assert {e["zone"] for e in events} == {"left", "right"}
    assert not sub.wait_for({e["id"] for e in events}, timeout=10)
    sub.close()
    check_delivery(events, sub.messages, lambda m: f"ea/{m['stream']}/{m['zone']}")
