"""The engine cache key: everything an engine depends on, and nothing else."""

from pathlib import Path

from edgeaction.engine.cache import cache_key, cached_engine_path, default_cache_dir

GPU = {"name": "Orin", "compute_capability": "8.7"}
BASE = ("ab" * 32, "10.3.0", GPU, "fp16", (1, 4, 8))


def test_every_fact_changes_the_key():
    k = cache_key(*BASE)
    assert len(k) == 16 and k == cache_key(*BASE)  # stable
    variants = [
        ("cd" * 32, *BASE[1:]),  # another model
        (BASE[0], "10.3.1", *BASE[2:]),  # another TensorRT
        (BASE[0], BASE[1], {**GPU, "compute_capability": "8.6"}, *BASE[3:]),  # another GPU
        (BASE[0], BASE[1], {**GPU, "dla_core": 0}, *BASE[3:]),  # the DLA
        (*BASE[:3], "fp32", BASE[4]),  # precision
        (*BASE[:4], (1, 8, 16)),  # profile
    ]
    keys = {cache_key(*v) for v in variants}
    assert len(keys) == len(variants) and k not in keys


def test_gpu_name_alone_does_not_change_the_key():
    # Engines are portable across boards with the same compute capability and TensorRT.
    assert cache_key(*BASE) == cache_key(BASE[0], BASE[1], {**GPU, "name": "Orin NX"}, *BASE[3:])


def test_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEACTION_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    p = cached_engine_path(Path("m/model.onnx"), *BASE)
    assert p.parent == tmp_path / "c" and p.name == f"model-{cache_key(*BASE)}.engine"
    q = cached_engine_path(Path("m/model.onnx"), *BASE, cache_dir=tmp_path / "d")
    assert q.parent == tmp_path / "d"
    monkeypatch.delenv("EDGEACTION_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "edgeaction" / "engines"
