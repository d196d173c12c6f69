"""C++ libraries loaded after GStreamer must keep working (see `_lazy._unwinder_first`).

Debian's libgstreamer links libunwind; without the fix, the first C++ exception thrown
by a module loaded after a pipeline ran (matplotlib's pybind11 code does so on import,
TensorFlow on start-up) crashed the process with SIGSEGV.
"""

import subprocess
import sys

CODE = """
import glob, sys
from edgeaction.video.reader import read_clip
clip = read_clip(sorted(glob.glob(sys.argv[1] + "/*.mp4"))[0], 4, 32, 32)
import matplotlib.font_manager  # pybind11 raises and catches inside its import
import tensorflow as tf
print("sum", float(tf.reduce_sum(tf.ones(3))), clip.shape)
"""


def test_cxx_exceptions_after_gstreamer(real_clips):
    p = subprocess.run(
        [sys.executable, "-c", CODE, str(real_clips)], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr[-1500:]}"
    assert "sum 3.0 (4, 32, 32, 3)" in p.stdout
