"""Broker outage: `edgeaction run --mqtt --spool` while the MQTT broker is down for a while.

    python benchmarks/broker_outage.py [--model M] [--streams 2] [--run-s 75]
        [--outage-at-s 25] [--outage-s 20] [--signal TERM] [--full] [--json OUT]

Starts Debian's `mosquitto` on a free loopback port (persistence on, so a subscriber's
session survives the restart), subscribes with paho (QoS 1, persistent session), runs
`edgeaction run` on live `test://` streams with an event for every window, stops the broker
`--outage-at-s` seconds into the run for `--outage-s` seconds, starts it again, and
counts, on the subscriber's side, against the run's own events file:

- sent (events written), received (distinct ids), lost, duplicated (repeated ids),
  streams out of order (by the SEQ of `RUN-STREAM-SEQ` ids);
- drain time: from the broker's return until every event written before it arrived.

The defaults take about 2 minutes; `--full` is the issue's run: 5 minutes with a 30 s
outage. `--signal KILL` SIGKILLs the broker: Mosquitto can then lose messages it had
already acknowledged (no publisher can help that), so the figures measure the broker too.
Exit status 0 when nothing was lost and every stream is in order.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """Mosquitto on a loopback port, persistent in `workdir`."""

    def __init__(self, workdir: Path):
        self.port, self.dir, self.proc = free_port(), workdir, None
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser root\n"
            f"persistence true\npersistence_location {workdir}/\n"
        )

    def start(self) -> None:
        log = open(self.dir / "mosquitto.log", "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log, stderr=log)
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise SystemExit("mosquitto did not start: " + (self.dir / "mosquitto.log").read_text())

    def save(self) -> None:
        db = self.dir / "mosquitto.db"
        self.proc.send_signal(signal.SIGUSR1)  # write the persistence database now
        for _ in range(200):
            if db.exists():
                return
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


class Subscriber:
    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.ids: list[str] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"outage-{port}",
                        clean_session=False)  # fmt: skip
        c.reconnect_delay_set(1, 1)
        c.on_connect = lambda c, *_: c.subscribe("outage/#", qos=1)
        c.on_subscribe = lambda *_: ready.set()
        c.on_message = self._on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        if not ready.wait(10):
            raise SystemExit("the subscriber could not subscribe")

    def _on_message(self, _c, _u, msg) -> None:
        with self.lock:
            self.ids.append(json.loads(msg.payload)["id"])

    def received(self) -> set[str]:
        with self.lock:
            return set(self.ids)


def tiny_model(d: Path) -> Path:
    """A small real ONNX classifier with an edgeaction contract (T=4, 32x32, 3 labels)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY, ModelContract

    c = ModelContract(name="tiny", labels=("a", "b", "c"), frames=4, height=32, width=32)
    w = np.random.default_rng(0).normal(0, 1, (3, 3)).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("ReduceMean", [c.input_name], ["m"], axes=[1, 2, 3], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [c.output_name], axis=-1),
        ],
        "tiny",
        [helper.make_tensor_value_info(c.input_name, TensorProto.FLOAT, ["N", 4, 32, 32, 3])],
        [helper.make_tensor_value_info(c.output_name, TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json())
    onnx.save(m, str(d / "tiny.onnx"))
    return d / "tiny.onnx"


def written_ids(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(x) for x in lines if x.endswith("}")]


def outage(a, work: Path) -> dict:
    broker = Broker(work)
    broker.start()
    sub = Subscriber(broker.port)
    broker.save()
    ev = work / "ev.jsonl"
    sources = [f"--source=test://{p}?fps={a.fps:g}" for p in ("smpte", "ball", "snow")[: a.streams]]
    sources += [f"--source=test://smpte?fps={a.fps:g}"] * max(0, a.streams - 3)
    argv = [sys.executable, "-m", "edgeaction.cli", "run", str(a.model), *sources,
            "--emit", "every", "--events", str(ev), "--duration", f"{a.run_s:g}", "-q",
            "--mqtt", f"mqtt://127.0.0.1:{broker.port}/outage/{{stream}}",
            "--spool", str(work / "spool"), "--drain", "30"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(a.outage_at_s)
    broker.stop(getattr(signal, f"SIG{a.signal}"))
    print(f"broker stopped (SIG{a.signal}) at {a.outage_at_s:g} s for {a.outage_s:g} s", flush=True)
    time.sleep(a.outage_s)
    backlog = {e["id"] for e in written_ids(ev)}
    t_back = time.monotonic()
    broker.start()
    drain_s = None
    while time.monotonic() - t_back < 120:
        if backlog <= sub.received():
            drain_s = time.monotonic() - t_back
            break
        time.sleep(0.05)
    _, err = run.communicate(timeout=a.run_s + 120)
    events = written_ids(ev)
    sent = {e["id"] for e in events}
    deadline = time.monotonic() + 30
    while not sent <= sub.received() and time.monotonic() < deadline:
        time.sleep(0.1)
    sub.client.disconnect()
    sub.client.loop_stop()
    broker.stop()
    with sub.lock:
        got = list(sub.ids)
    first = list(dict.fromkeys(got))
    order_bad = 0
    for stream in {i.rsplit("-", 1)[0] for i in sent}:
        seqs = [int(i.rsplit("-", 1)[1]) for i in first if i.startswith(stream + "-")]
        order_bad += seqs != sorted(seqs)
    return {
        "run_s": a.run_s,
        "outage_at_s": a.outage_at_s,
        "outage_s": a.outage_s,
        "signal": a.signal,
        "streams": a.streams,
        "exit_status": run.returncode,
        "sent": len(sent),
        "received": len(set(got) & sent),
        "lost": len(sent - set(got)),
        "duplicated": len(got) - len(first),
        "invented": len(set(got) - sent),
        "streams_out_of_order": order_bad,
        "backlog_at_return": len(backlog),
        "drain_s": None if drain_s is None else round(drain_s, 2),
        "broker_lines": [x for x in err.splitlines() if "mqtt" in x],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, help="model (default: a tiny ONNX model made here)")
    p.add_argument("--streams", type=int, default=2)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--run-s", type=float, default=75.0)
    p.add_argument("--outage-at-s", type=float, default=25.0)
    p.add_argument("--outage-s", type=float, default=20.0)
    p.add_argument("--signal", choices=["TERM", "KILL"], default="TERM")
    p.add_argument(
        "--full", action="store_true", help="the issue's run: 5 min, 30 s outage at 2 min"
    )
    p.add_argument("--json", type=Path, help="write the figures here")
    a = p.parse_args()
    if a.full:
        a.run_s, a.outage_at_s, a.outage_s = 300.0, 120.0, 30.0
    with tempfile.TemporaryDirectory(prefix="broker-outage-") as tmp:
        work = Path(tmp)
        if a.model is None:
            a.model = tiny_model(work)
        r = outage(a, work)
    print(json.dumps(r, indent=2))
    if a.json:
        a.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0 if r["lost"] == 0 and r["streams_out_of_order"] == 0 and r["exit_status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
