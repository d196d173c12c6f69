"""The runtime (engine, pipelines, `edgeaction run`) must never import TensorFlow."""

import subprocess
import sys
import textwrap


def test_run_imports_no_tensorflow(tmp_path, tiny_onnx, synth_video):
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import edgeaction.engine, edgeaction.pipelines
        from edgeaction.cli import main
        rc = main(["run", {str(tiny_onnx)!r}, "--source", {str(synth_video)!r},
                   "--events", {str(tmp_path / "e.jsonl")!r}, "--out-video", {str(tmp_path / "a.mp4")!r}])
        assert rc == 0, rc
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx"))
        assert not leaked, leaked
        print("OK")
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip().endswith("OK"), p.stderr[-2000:]
    assert (tmp_path / "e.jsonl").stat().st_size > 0 and (tmp_path / "a.mp4").stat().st_size > 0
