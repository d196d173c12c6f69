"""The sinks package: the registry, the spool, the fan-out, and the webhook against a real
HTTP server that fails its first requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines.sinks import REGISTRY, FanOut, JsonLinesSink, Spool, make_sink
from tests.conftest import cli, one_line_error


# ---- the registry ------------------------------------------------------------------------
def test_every_option_sink_is_an_option_of_run():
    from edgeaction.commands.run import option_strings

    opts = option_strings()
    assert {"--mqtt", "--webhook", "--spool", "--spool-max-mb", "--drain"} <= opts
    assert all(s.option in opts for s in REGISTRY.values() if s.option)
    with pytest.raises(EdgeActionError, match="unknown event sink 'kafka'"):
        make_sink("kafka", "kafka://h/t")


# ---- the spool ---------------------------------------------------------------------------
def test_spool_is_a_durable_fifo_that_survives_a_reopen(tmp_path):
    s = Spool(tmp_path / "sp", "mqtt").open()
    for i in range(5):
        s.put(json.dumps({"id": i}), key=f"t/{i}")
    rows = s.peek(after=0, n=3)
    assert [json.loads(b)["id"] for _seq, _k, b in rows] == [0, 1, 2]
    assert rows[1][1] == "t/1"
    s.ack(rows[1][0])  # 0 and 1 delivered
    assert len(s) == 3
    s.close()
    again = Spool(tmp_path / "sp", "mqtt").open()
    assert [json.loads(b)["id"] for _s, _k, b in again.peek(n=10)] == [2, 3, 4]
    again.close()


def test_a_spool_is_used_by_one_run_at_a_time(tmp_path):
    a = Spool(tmp_path, "mqtt").open()
    with pytest.raises(EdgeActionError, match="in use by another edgeaction run"):
        Spool(tmp_path, "mqtt").open()
    a.close()
    Spool(tmp_path, "mqtt").open().close()


def test_a_full_spool_drops_the_oldest_and_says_so(tmp_path):
    said = []
    s = Spool(tmp_path, "webhook", max_mb=0.01, log=said.append).open()  # ~10 kB
    body = "x" * 1000
    for i in range(30):
        s.put(json.dumps({"id": i, "pad": body}))
    ids = [json.loads(b)["id"] for _s, _k, b in s.peek(n=100)]
    assert ids == list(range(30 - len(ids), 30)) and len(ids) < 11  # the newest, in order
    assert s.dropped == 30 - len(ids) and len(said) == 1
    assert "dropped" in said[0] and "--spool-max-mb" in said[0]
    s.close()


def test_fan_out_closes_every_sink_even_when_one_fails(tmp_path):
    class Broken(JsonLinesSink):
        def close(self, discard=False):
            raise EdgeActionError("disk full")

    ok = JsonLinesSink(tmp_path / "b.jsonl")
    f = FanOut([Broken(tmp_path / "a.jsonl"), ok])
    f.emit({"id": "r-0-1", "score": float("nan")})
    with pytest.raises(EdgeActionError, match="disk full"):
        f.close()
    assert ok.written == tmp_path / "b.jsonl"
    assert json.loads((tmp_path / "b.jsonl").read_text()) == {"id": "r-0-1", "score": None}
    assert f.count == 1


# ---- the webhook against a real server ---------------------------------------------------
class Endpoint:
    """A real HTTP server in a thread: answers `fail_first` requests with `status`, then 200."""

    def __init__(self, fail_first: int = 0, status: int = 503):
        self.bodies: list[dict] = []
        self.keys: list[str] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                if outer.requests <= fail_first:
                    self.send_response(status)
                else:
                    outer.bodies.append(json.loads(body))
                    outer.keys.append(self.headers["Idempotency-Key"])
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_retries_until_the_endpoint_answers(tmp_path, tiny_onnx):
    ep = Endpoint(fail_first=3)
    try:
        p = cli("run", tiny_onnx, "--source", "test://smpte?frames=40&live=0", "--emit", "every",
                "--events", tmp_path / "ev.jsonl", "--webhook", ep.url, "--spool",
                tmp_path / "sp", "--drain", "20", "-q")  # fmt: skip
    finally:
        ep.close()
    events = [json.loads(x) for x in (tmp_path / "ev.jsonl").read_text().splitlines()]
    assert len(events) == 19
    assert ep.bodies == events  # all of them, in order, each once
    assert ep.keys == [e["id"] for e in events]
    assert ep.requests == 19 + 3
    said = [x for x in p.stderr.splitlines() if "webhook" in x]
    assert len(said) == 2 and "HTTP 503" in said[0] and "answering again" in said[1], p.stderr


def test_webhook_drops_what_the_endpoint_refuses_for_good(tmp_path):
    ep = Endpoint(fail_first=1, status=400)
    said: list[str] = []
    try:
        s = make_sink("webhook", ep.url, drain_s=10, log=said.append)
        for i in range(3):
            s.emit({"id": f"r-0-{i + 1}", "stream": 0})
        notes = s.close()
    finally:
        ep.close()
    assert [b["id"] for b in ep.bodies] == ["r-0-2", "r-0-3"]
    assert len(said) == 1 and "refused event r-0-1" in said[0] and "HTTP 400" in said[0]
    assert notes == []


def test_unreachable_webhook_without_a_spool_says_what_was_lost(tmp_path):
    said: list[str] = []
    s = make_sink("webhook", "http://127.0.0.1:9/x", drain_s=0.3, log=said.append)
    s.emit({"id": "r-0-1"})
    notes = s.close()
    assert len(said) == 1 and "events are spooled and retried" in said[0]
    assert notes == [
        "webhook: 1 events could not be delivered and are lost (give --spool DIR to keep "
        "them for the next start)"
    ]


def test_bad_webhook_and_spool_values_are_one_line(tmp_path, tiny_onnx):
    from tests.commands import usage_error

    p = cli("run", tiny_onnx, "--source", "x.mp4", "--webhook", "ftp://h/x", check=False)
    usage_error(p, "--webhook", "http://")
    p = cli("run", tiny_onnx, "--source", "x.mp4", "--spool-max-mb", "0", check=False)
    usage_error(p, "--spool-max-mb")
    (tmp_path / "file").write_text("")
    p = cli("run", tiny_onnx, "--source", "test://smpte?frames=8&live=0", "--webhook",
            "http://127.0.0.1:9/x", "--spool", tmp_path / "file", check=False)  # fmt: skip
    one_line_error(p, "--spool directory", "not a directory")


def test_a_missing_paho_is_one_line_naming_the_extra(tiny_onnx):
    from tests.conftest import cli_no_tf

    p = cli_no_tf("run", tiny_onnx, "--source", "test://smpte?frames=8&live=0", "--mqtt",
                  "mqtt://127.0.0.1:9/t", check=False, block=("paho",))  # fmt: skip
    one_line_error(p, "paho-mqtt", "edgeaction[mqtt]")


def test_the_spool_depth_is_reported_for_prometheus():
    from edgeaction.pipelines.prometheus import spool_depth

    s = make_sink("webhook", "http://127.0.0.1:9/x", drain_s=0.2)  # nothing listens there
    for i in range(3):
        s.emit({"id": f"r-0-{i + 1}"})
    assert spool_depth() == 3
    s.close()
    assert spool_depth() is None
