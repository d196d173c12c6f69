"""Label smoothing and the emit policy (the sinks that write events: `pipelines.sinks`)."""

from __future__ import annotations

from collections import deque

import numpy as np

from ..errors import fail

EMIT_POLICIES = ("change", "every")
SMOOTH_MODES = ("majority", "ema")


class LabelSmoother:
    """Steady labels over consecutive windows of one stream, so they don't flicker.

    `majority`: the most frequent top-1 label of the last `n` windows (ties go to the
    most recent of the tied labels), scored by the mean probability of that label over
    those windows. `ema`: an exponential moving average of the probability vectors with
    `alpha = 2 / (n + 1)`, then its top-1. `n=1` passes every window through unchanged.

    ```python
    s = LabelSmoother(n=3)
    k, score, probs = s.update(probs)      # class index, its score, smoothed probabilities
    ```

    Args:
        n: Integer >= 1. Windows to smooth over. Defaults to `1`.
        mode: String. `"majority"` or `"ema"`. Defaults to `"majority"`.
    """

    def __init__(self, n: int = 1, mode: str = "majority"):
        if not isinstance(n, int) or n < 1:
            fail(f"--smooth must be an integer >= 1. Received: {n!r}")
        if mode not in SMOOTH_MODES:
            fail(f"--smooth-mode must be one of {', '.join(SMOOTH_MODES)}. Received: {mode!r}")
        self.n, self.mode = n, mode
        self._hist: deque = deque(maxlen=n)
        self._ema: np.ndarray | None = None

    def update(self, probs: np.ndarray) -> tuple[int, float, np.ndarray]:
        p = np.asarray(probs, np.float32)
        if self.n == 1:
            k = int(np.argmax(p))
            return k, float(p[k]), p
        if self.mode == "ema":
            a = 2.0 / (self.n + 1)
            self._ema = p.copy() if self._ema is None else a * p + (1 - a) * self._ema
            k = int(np.argmax(self._ema))
            return k, float(self._ema[k]), self._ema
        self._hist.append(p)
        tops = [int(np.argmax(h)) for h in self._hist]
        counts = np.bincount(tops, minlength=p.shape[0])
        best = counts.max()
        k = next(t for t in reversed(tops) if counts[t] == best)
        mean = np.mean(np.stack(self._hist), axis=0)
        return k, float(mean[k]), mean


class EmitPolicy:
    """Decide which windows become events: `every` window, or on label `change` only.

    Args:
        policy: String. `"change"` (default) or `"every"`.
    """

    def __init__(self, policy: str = "change"):
        if policy not in EMIT_POLICIES:
            fail(f"--emit must be one of {', '.join(EMIT_POLICIES)}. Received: {policy!r}")
        self.policy = policy
        self._last: str | None = None

    def __call__(self, label: str) -> bool:
        changed = label != self._last
        self._last = label
        return self.policy == "every" or changed
