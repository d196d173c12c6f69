"""The `webhook` sink: each event POSTed as JSON, retried with back-off until a 2xx."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ... import options
from ...errors import first_line
from .network import NetworkSink

#: Back-off between failed attempts: from `FIRST_S`, doubling, at most `MOST_S`.
FIRST_S, MOST_S = 0.5, 30.0
TIMEOUT_S = 10.0
#: Answers that a retry cannot change: the event is dropped (counted, said) instead.
_PERMANENT = frozenset(range(400, 500)) - {408, 425, 429}


class WebhookSink(NetworkSink):
    """POST every event's JSON to a URL, in order, one at a time, at least once.

    The body is the event (`Content-Type: application/json`); the header
    `Idempotency-Key` repeats its `id`. A 2xx answer removes the event from the spool; a
    connection error, a timeout, 408, 429 or a 5xx are retried with back-off (0.5 s
    doubling to 30 s) while later events wait behind it; another 4xx means the endpoint
    will never take this event: it is dropped with a counted warning.

    Args:
        target: String. The URL (see `options.webhook_url`).
        **kwargs: See `NetworkSink`.
    """

    kind = "webhook"
    option = "--webhook"
    metavar = "URL"
    help = "POST each event's JSON to this http(s) URL, retried with back-off until a 2xx"
    convert = staticmethod(options.webhook_url)

    def __init__(self, target: str, **kwargs):
        super().__init__(target, **kwargs)
        u = urlsplit(target)
        self.shown = f"{u.scheme}://{u.hostname}{f':{u.port}' if u.port else ''}{u.path}"
        self.rejected = 0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._down = False

    def _deliver(self) -> None:
        """Send the oldest events one by one; after a failure, return until the back-off ends."""
        while not self.stopping and time.monotonic() >= self._retry_at:
            rows = self.spool.peek(after=0, n=1)
            if not rows:
                return
            seq, _key, body = rows[0]
            ok = self._post(body)
            if ok is None:  # try again after the back-off (the thread wakes twice a second)
                self._backoff = min(MOST_S, max(FIRST_S, self._backoff * 2))
                self._retry_at = time.monotonic() + self._backoff
                return
            self._backoff = 0.0
            self.spool.ack(seq)
            self.delivered += ok

    def _post(self, body: str) -> int | None:
        """1: delivered, 0: refused for good (dropped), None: try again."""
        import json

        key = json.loads(body).get("id", "")
        req = urllib.request.Request(
            self.target,
            data=body.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": str(key)},
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
            reason = f"HTTP {e.code} {e.reason}"
        except (OSError, ValueError) as e:  # refused, unreachable, timeout, bad TLS
            status, reason = None, first_line(getattr(e, "reason", None) or e)
        if status is not None and 200 <= status < 300:
            if self._down:
                self._down = False
                self.log(f"{self.kind} {self.shown}: answering again; sending spooled events")
            return 1
        if status in _PERMANENT:
            self.rejected += 1
            self.log(
                f"{self.kind} {self.shown}: refused event {key} ({reason}); dropped it "
                f"({self.rejected} so far): a retry cannot change a {status}"
            )
            return 0
        if not self._down:
            self._down = True
            self.log(f"{self.kind} {self.shown}: {reason}; events are spooled and retried")
        return None
