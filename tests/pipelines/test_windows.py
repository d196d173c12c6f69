import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines import ClipBuffer


def _push_all(buf, n):
    out = []
    for i in range(n):
        out += buf.push(i, i / 10, np.full((2, 2, 3), i, np.uint8))
    return out


def test_stride_one_emits_every_frame_after_warmup():
    w = _push_all(ClipBuffer(4, 1), 10)
    assert [(x.start, x.end) for x in w] == [(i - 3, i) for i in range(3, 10)]
    assert w[0].frames[:, 0, 0, 0].tolist() == [0, 1, 2, 3]


def test_stride_and_subsample():
    w = _push_all(ClipBuffer(3, 2, subsample=2), 20)
    # kept frames 0,2,4,...; windows of 3 kept frames every 2 kept frames
    assert [(x.start, x.end) for x in w] == [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert w[1].frames[:, 0, 0, 0].tolist() == [4, 6, 8]
    assert w[1].pts == pytest.approx(0.8)


def test_bad_arguments():
    for kw in (
        {"frames": 0, "stride": 1},
        {"frames": 2, "stride": 0},
        {"frames": 2, "stride": 1, "subsample": 0},
    ):
        with pytest.raises(EdgeActionError):
            ClipBuffer(**kw)
