"""Classification metrics with known answers, and the report files they become."""

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.report import classification_metrics, worst_classes, write_report

# 4 classes; "d" has no clips and is never predicted, "c" is never predicted.
LABELS = ["a", "b", "c", "d"]
Y = np.array([0, 0, 0, 1, 1, 2])
PRED = np.array([0, 0, 1, 1, 1, 0])


def _probs(pred, classes):
    """Scores whose argmax is `pred`: 0.6 on the predicted class, the rest shared."""
    p = np.full((len(pred), classes), 0.4 / (classes - 1), np.float32)
    p[np.arange(len(pred)), pred] = 0.6
    return p


def test_known_precision_recall_f1():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning
        m = classification_metrics(Y, _probs(PRED, 4), LABELS)
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["clips"] == 6 and m["labels"] == LABELS
    pc = m["per_class"]
    assert pc["a"]["precision"] == pytest.approx(2 / 3) and pc["a"]["recall"] == pytest.approx(
        2 / 3
    )
    assert pc["a"]["f1"] == pytest.approx(2 / 3) and pc["a"]["support"] == 3
    assert pc["b"]["precision"] == pytest.approx(2 / 3) and pc["b"]["recall"] == 1.0
    assert pc["b"]["f1"] == pytest.approx(0.8) and pc["b"]["predicted"] == 3
    # never predicted: precision 0, not NaN
    assert pc["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0}
    # no support and never predicted: all zero, and left out of the macro average
    assert pc["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0}
    assert m["macro"]["precision"] == pytest.approx(4 / 9)
    assert m["macro"]["recall"] == pytest.approx(5 / 9)
    assert m["macro"]["f1"] == pytest.approx((2 / 3 + 0.8) / 3)
    assert m["weighted"]["precision"] == pytest.approx(5 / 9)
    assert m["weighted"]["recall"] == pytest.approx(m["accuracy"])
    assert m["weighted"]["f1"] == pytest.approx(0.6)
    assert m["macro"]["support"] == m["weighted"]["support"] == 6
    # only 4 classes: top-k is top-4, which always holds the true class
    assert m["top_k"] == 4 and m["top5_accuracy"] == 1.0
    json.dumps(m, allow_nan=False)  # JSON-clean
    assert worst_classes(m) == [("c", 0.0), ("a", pytest.approx(2 / 3)), ("b", 0.8)]


def test_top5_counts_the_rank_of_the_true_class():
    # 7 classes; the true class (0) ranks 1st, 3rd, 5th and 6th.
    scores = np.array([7, 6, 5, 4, 3, 2, 1], np.float32)
    rows = []
    for rank in (1, 3, 5, 6):
        order = [c for c in range(1, 7)]
        order.insert(rank - 1, 0)  # class at each rank position
        p = np.zeros(7, np.float32)
        p[order] = scores
        rows.append(p)
    m = classification_metrics([0, 0, 0, 0], np.stack(rows), list("abcdefg"))
    assert m["top_k"] == 5
    assert m["accuracy"] == 0.25 and m["top5_accuracy"] == 0.75
    # ties straddling the top-5 boundary count as in (as tf.math.in_top_k does)
    flat = classification_metrics([6], np.full((1, 7), 1 / 7), list("abcdefg"))
    assert flat["top5_accuracy"] == 1.0 and flat["accuracy"] == 0.0


def test_a_class_predicted_but_absent_counts_in_the_macro_average():
    m = classification_metrics([0, 0], _probs([0, 1], 3), ["a", "b", "c"])
    assert m["per_class"]["b"]["precision"] == 0.0 and m["per_class"]["b"]["support"] == 0
    assert m["macro"]["precision"] == pytest.approx((1.0 + 0.0) / 2)  # a and b; c left out
    assert m["macro"]["recall"] == pytest.approx((0.5 + 0.0) / 2)


@pytest.mark.parametrize(
    "y, probs, needle",
    [
        ([0, 1], np.zeros((2, 2)), "shape (N, 3)"),
        ([0], np.zeros((2, 3)), "y_true must have shape (2,)"),
        ([0, 3], np.zeros((2, 3)), "outside 0..2"),
        ([], np.zeros((0, 3)), "no clips"),
        ([0], np.array([[np.nan, 0.0, 1.0]]), "NaN"),
        (["a"], np.zeros((1, 3)), "class indices"),
    ],
)
def test_bad_inputs_fail_with_one_line(y, probs, needle):
    with pytest.raises(EdgeActionError) as e:
        classification_metrics(y, probs, ["a", "b", "c"])
    assert needle in str(e.value) and "\n" not in str(e.value)


def _png_ok(path):
    """Load a PNG with Pillow and check it is a real, non-blank image."""
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        img = np.asarray(im.convert("RGB"))
    assert img.shape[0] > 100 and img.shape[1] > 100, img.shape
    assert float(img.std()) > 0  # not blank
    return img


def _run(code: str) -> str:
    """Run `code` in a fresh interpreter (matplotlib internals, GStreamer order)."""
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_write_report_writes_every_file(tmp_path):
    labels = ["walk", "run|fast", "wave", "jump"]
    history = {
        "loss": [1.3, 0.9, 0.6],
        "val_loss": [1.4, 1.0, 0.8],
        "accuracy": [0.3, 0.6, 0.8],
        "val_accuracy": [0.25, 0.5, 0.7],
        "learning_rate": [1e-3, 1e-3, 5e-4],
    }
    out = tmp_path / "report" / "nested"
    m = write_report(
        out,
        Y,
        _probs(PRED, 4),
        labels,
        history=history,
        extra={"model": "m.onnx", "split": "test"},
        title="tiny on synth",
    )
    assert m["accuracy"] == pytest.approx(4 / 6)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["confusion_matrix.png", "curves.png", "per_class.json", "per_class.md"]
    cm = _png_ok(out / "confusion_matrix.png")
    curves = _png_ok(out / "curves.png")
    assert curves.shape[1] > curves.shape[0]  # two panels side by side
    assert cm.shape[0] > 200
    doc = json.loads((out / "per_class.json").read_text())
    assert doc["info"] == {"model": "m.onnx", "split": "test"}
    assert doc["per_class"]["run|fast"]["recall"] == 1.0 and doc["title"] == "tiny on synth"
    md = (out / "per_class.md").read_text()
    rows = [x for x in md.splitlines() if x.startswith("| ") and not x.startswith("| class")]
    rows = [x for x in rows if not x.startswith("| ---")]
    assert len(rows) == len(labels) + 2  # one per class, then macro and weighted
    assert [r.split(" | ")[0][2:] for r in rows[: len(labels)]] == [
        "walk",
        "run\\|fast",
        "wave",
        "jump",
    ]
    assert "macro avg" in rows[-2] and "weighted avg" in rows[-1]
    assert "**accuracy**: 0.6667 (4 of 6 clips)" in md and "**top-5 accuracy**" in md
    assert "- model: m.onnx" in md


def test_write_report_without_history_and_many_classes(tmp_path):
    rng = np.random.default_rng(0)
    labels = [f"class_{i:02d}" for i in range(30)]
    y = rng.integers(0, 30, 200)
    p = rng.random((200, 30))
    p[np.arange(200), y] += 0.5
    m = write_report(tmp_path, y, p, labels)
    assert not (tmp_path / "curves.png").exists()
    img = _png_ok(tmp_path / "confusion_matrix.png")
    assert min(img.shape[:2]) > 1000  # room for 30 labelled rows and columns
    assert 0 < m["accuracy"] <= m["top5_accuracy"] <= 1


def test_curves_with_partial_history(tmp_path):
    h = {"loss": [1.0, float("nan"), 0.5]}
    write_report(tmp_path, [0, 1], _probs([0, 1], 2), ["a", "b"], history=h)
    _png_ok(tmp_path / "curves.png")


def test_figures_are_closed_and_nothing_goes_through_pyplot(tmp_path):
    out = _run(
        f"""
        import gc, sys
        import numpy as np
        from edgeaction.report import write_report
        for i in range(3):
            write_report({str(tmp_path)!r}, [0, 1], np.eye(2), ["a", "b"], history={{"loss": [1.0]}})
        gc.collect()
        from matplotlib.figure import Figure
        alive = [o for o in gc.get_objects() if isinstance(o, Figure)]
        print(len(alive), "matplotlib.pyplot" in sys.modules)
        """
    )
    assert out.split() == ["0", "False"]


def test_failed_figure_leaves_no_file(tmp_path):
    _run(
        f"""
        import pathlib, numpy as np
        from matplotlib.figure import Figure
        from edgeaction.report import write_report
        def boom(self, *a, **k):
            raise RuntimeError("disk on fire")
        Figure.savefig = boom
        try:
            write_report({str(tmp_path)!r}, [0, 1], np.eye(2), ["a", "b"])
        except RuntimeError:
            pass
        else:
            raise SystemExit("no error")
        names = sorted(p.name for p in pathlib.Path({str(tmp_path)!r}).iterdir())
        assert "confusion_matrix.png" not in names, names
        assert not [n for n in names if "partial" in n], names
        """
    )


def test_report_draws_after_gstreamer(tmp_path, synth_video):
    """matplotlib first imported after a GStreamer pipeline ran used to segfault (libunwind)."""
    out = _run(
        f"""
        import sys
        import numpy as np
        from edgeaction.video.reader import read_clip
        read_clip({str(synth_video)!r}, 4, 32, 32)
        from edgeaction.report import write_report
        write_report({str(tmp_path)!r}, [0, 1, 1], np.eye(2)[[0, 1, 0]], ["a", "b"],
                     history={{"loss": [1.0, 0.5]}})
        print("matplotlib.ft2font" in sys.modules)
        """
    )
    assert out.split() == ["True"]  # drawn in this process
    _png_ok(tmp_path / "confusion_matrix.png")
    _png_ok(tmp_path / "curves.png")
