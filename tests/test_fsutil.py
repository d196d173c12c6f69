import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.fsutil import (
    atomic_path,
    atomic_write_text,
    check_writable_dir,
    check_writable_file,
)


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "r.json"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [x.name for x in tmp_path.iterdir()] == ["r.json"]


def test_failure_inside_block_leaves_old_content_and_no_partial(tmp_path):
    p = tmp_path / "model.onnx"
    p.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert p.read_text() == "good"
    assert [x.name for x in tmp_path.iterdir()] == ["model.onnx"]


def test_output_paths_checked_up_front(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(EdgeActionError, match="is a file, not a directory"):
        check_writable_dir(tmp_path / "f")
    with pytest.raises(EdgeActionError, match="is a directory"):
        check_writable_file(tmp_path)
