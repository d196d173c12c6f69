"""How T frames are picked from a clip of n: `sample_indices` and the short-clip policies.

Numpy only. Training, `evaluate`, export's parity check and `bench` sample clips here;
the model contract records the short-clip policy a model was trained with
(`ModelContract.short_clips`), so they all sample a short clip alike.
"""

from __future__ import annotations

import numpy as np

from .errors import fail

#: What a clip shorter than T frames becomes (see `sample_indices`); the first is the default.
SHORT_CLIPS = ("stretch", "loop", "pad")


def sample_indices(n: int, t: int, policy: str = "stretch") -> np.ndarray:
    """Pick `t` frame indices uniformly from a clip of `n` frames.

    Clips with `n >= t` take `t` evenly spaced frames (the centre of `t` equal segments,
    as TSN-style samplers do). Shorter clips follow `policy` (`SHORT_CLIPS`):
    `"stretch"` spreads the clip over the `t` frames, repeating frames evenly (slow
    motion: what happened stays in order, once); `"loop"` repeats the clip from its
    start (a stroke drawn once reads as drawn again, so only for periodic actions);
    `"pad"` repeats the last frame.

    Args:
        n: Integer. Frames in the clip, >= 1.
        t: Integer. Frames wanted, >= 1.
        policy: String. `"stretch"`, `"loop"` or `"pad"`. Defaults to `"stretch"`.
    """
    if n < 1 or t < 1:
        fail(f"cannot sample {t} frames from a clip of {n} frames")
    if n >= t or policy == "stretch":
        return np.floor((np.arange(t) + 0.5) * n / t).astype(np.int64)
    if policy == "loop":
        return np.arange(t) % n
    if policy == "pad":
        return np.minimum(np.arange(t), n - 1)
    fail(f"short-clip policy must be one of {', '.join(SHORT_CLIPS)}. Received: policy={policy!r}")
