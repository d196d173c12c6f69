import contextlib
import errno
import os
import socket
import stat
import subprocess
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgeaction.errors import EdgeActionError, fail
from edgeaction.fsutil import (
    atomic_path,
    atomic_write_text,
    check_writable_dir,
    check_writable_file,
    claim_outputs,
    command_outputs,
    keep,
    make_dir,
    os_error_line,
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


# ---- the output policy (issue 18) --------------------------------------------------------------
ROOT = os.geteuid() == 0
LONG = "x" * 300  # one path component over the 255-byte limit


def _one_line(e: pytest.ExceptionInfo, *needles: str) -> str:
    msg = str(e.value)
    assert msg and len(msg.splitlines()) == 1, repr(msg)
    for n in needles:
        assert n in msg, msg
    return msg


def _char_device(path, major_minor) -> None:
    """A copy of a character device node (root only: mknod)."""
    if not ROOT:
        pytest.skip("creating a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*major_minor))


def test_claim_refuses_an_output_that_is_an_input(tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(b"video")
    (tmp_path / "link.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.mp4")
    for out in (src, tmp_path / "link.mp4", tmp_path / "hard.mp4", tmp_path / "." / "in.mp4"):
        with pytest.raises(EdgeActionError) as e:
            claim_outputs({"--out-video": out}, {"--source": [str(src)]})
        _one_line(e, "--out-video", "is the --source", "choose another output path")
    assert src.read_bytes() == b"video"
    claim_outputs({"--out-video": tmp_path / "new.mp4", "--events": None}, {"--source": src})


def test_claim_refuses_two_outputs_on_one_file_but_not_on_dev_null(tmp_path):
    with pytest.raises(EdgeActionError) as e:
        claim_outputs({"--events": tmp_path / "o.mp4", "--out-video": tmp_path / "o.mp4"})
    _one_line(e, "--out-video", "--events", "same file")
    claim_outputs({"--events": "/dev/null", "--metrics": "/dev/null", "--json": "-"})


def test_claim_protects_the_model_files_of_a_model_directory(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(EdgeActionError) as e:
        claim_outputs({"--json": tmp_path / "model.onnx"}, {"MODEL": tmp_path})
    _one_line(e, "is the MODEL")
    claim_outputs({"--json": tmp_path / "check.json"}, {"MODEL": tmp_path})


def test_a_character_device_is_written_in_place_never_replaced(tmp_path):
    null, full = tmp_path / "null", tmp_path / "full"
    _char_device(null, (1, 3))
    _char_device(full, (1, 7))
    atomic_write_text(null, "{}\n")
    assert stat.S_ISCHR(os.stat(null).st_mode)
    with pytest.raises(EdgeActionError) as e:
        atomic_write_text(full, "{}\n", "--json file")
    _one_line(e, "--json file", str(full), "No space left", "disk is full")
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]  # no .partial


def test_dev_null_itself_stays_a_device():
    before = os.stat("/dev/null")
    atomic_write_text("/dev/null", "x\n")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    atomic_write_text(fifo, '{"a": 1}\n')
    reader.join(10)
    assert got == ['{"a": 1}\n']
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_socket_or_directory_is_refused_not_replaced(tmp_path):
    sock_path = tmp_path / "s.json"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        with pytest.raises(EdgeActionError) as e:
            atomic_write_text(sock_path, "x")
        _one_line(e, "is a socket", "regular file")
        assert stat.S_ISSOCK(os.stat(sock_path).st_mode)
    finally:
        s.close()
    with pytest.raises(EdgeActionError) as e:
        atomic_write_text(tmp_path, "x")
    _one_line(e, "is a directory")


def test_a_symlink_is_written_through(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    atomic_write_text(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "real.json").read_text() == "new"


@pytest.mark.parametrize(
    "write",
    [
        lambda d: atomic_write_text(d / f"{LONG}.json", "x"),
        lambda d: atomic_write_text(d / LONG / "r.json", "x"),
        lambda d: check_writable_dir(d / "a" / LONG / "b"),
        lambda d: make_dir(d / LONG),
    ],
)
def test_a_name_over_255_bytes_is_one_line(tmp_path, write):
    with pytest.raises(EdgeActionError) as e:
        write(tmp_path)
    _one_line(e, "File name too long", "over 255 bytes")


def test_os_error_line_names_the_target_not_the_temporary_file():
    e = OSError(errno.ENOSPC, "No space left on device", "/d/.r.abc.partial.json")
    msg = os_error_line(e, "/d/r.json", "--json file")
    assert msg.startswith("cannot write --json file /d/r.json (No space left on device)")
    e = OSError(errno.EACCES, "Permission denied", "/in/\nclip.mp4")
    assert "\n" not in os_error_line(e)


@contextlib.contextmanager
def _tmpfs(path, size="64k"):
    """A small tmpfs at `path` (root only), unmounted after."""
    path.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {p.stderr.decode().strip()[:100]}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    with _tmpfs(tmp_path / "disk") as disk:
        (disk / "r.json").write_text("old")
        with pytest.raises(EdgeActionError) as e:
            atomic_write_text(disk / "r.json", "n" * 200_000, "--json file")
        _one_line(e, "cannot write --json file", "r.json", "disk is full")
        assert (disk / "r.json").read_text() == "old"
        assert [p.name for p in disk.iterdir()] == ["r.json"]


def test_a_failed_command_removes_what_it_created_and_only_that(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "mine.txt").write_text("keep me")
    with pytest.raises(EdgeActionError), command_outputs() as made:
        out = check_writable_dir(tmp_path / "new" / "run")
        atomic_write_text(out / "model.keras", "m")
        atomic_write_text(old / "report.json", "r")  # a new file in an old directory
        atomic_write_text(old / "mine.txt", "replaced")  # existed: not removed
        make_dir(old / "checkpoints")
        (old / "checkpoints" / "best.keras").write_text("b")  # written by a library
        fail("training diverged")
    assert made.dirs == [] and made.files == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
    assert sorted(p.name for p in old.iterdir()) == ["mine.txt"]


def test_kept_outputs_and_ctrl_c_survive_a_failure(tmp_path):
    with pytest.raises(EdgeActionError), command_outputs():
        d = check_writable_dir(tmp_path / "logs")
        (d / "events.jsonl").write_text("{}\n")
        keep(d / "events.jsonl")
        check_writable_dir(tmp_path / "other")
        cache = check_writable_dir(tmp_path / "cache")
        keep(cache)  # a cache: what it holds stays valid
        atomic_write_text(cache / "m-1234.engine", "plan")
        fail("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "logs"]
    assert (tmp_path / "cache" / "m-1234.engine").read_text() == "plan"
    with pytest.raises(KeyboardInterrupt), command_outputs():
        check_writable_dir(tmp_path / "run" / "checkpoints")
        raise KeyboardInterrupt
    assert (tmp_path / "run" / "checkpoints").is_dir()
    with command_outputs():  # success: everything stays
        atomic_write_text(tmp_path / "ok" / "r.json", "r")
    assert (tmp_path / "ok" / "r.json").read_text() == "r"


@settings(max_examples=300, deadline=None)
@given(
    name=st.none() | st.text() | st.binary() | st.integers(0, 1000),
    path=st.none() | st.text(min_size=1),
    code=st.sampled_from([errno.ENOSPC, errno.ENAMETOOLONG, errno.EROFS, errno.EACCES, 0, 999]),
    strerror=st.none() | st.text(max_size=40),
)
@example(name="\ud800\n", path=None, code=errno.EACCES, strerror="denied")
@example(name=b"/in/\xff\nclip.mp4", path=None, code=errno.EACCES, strerror=None)
def test_os_error_line_is_always_one_line(name, path, code, strerror):
    e = OSError(code, strerror, name) if strerror is not None else OSError(code, "x", name)
    msg = os_error_line(e, path, "--json file")
    assert msg.startswith("cannot ") and len(msg.splitlines()) == 1, repr(msg)
