"""One registry of backends over the one runner interface (`engine.base.BaseRunner`).

Each entry names its runner class as `"module:Class"` (imported only when a model is
opened, so the registry costs no import and the runtime never imports the Keras runner's
TensorFlow), the artefact kinds it opens (`edgeaction.artefacts`), the package it needs,
and whether the streaming runtime offers it. `open_runner`, `SplitRunner`, `evaluate`,
`compare` and `bench` all open models through `open_model`, and every `--backend`
choice list is `backend_choices(...)`.

```python
runner = open_model("models/a", backend="auto")        # OrtRunner for model.onnx
with runner: probs = runner.classify(clips)
backend_choices(include_keras=True, auto=True)       # ["auto", "onnxruntime", "tensorrt", "keras"]
```

Adding a backend is one module (a `BaseRunner` subclass; `BaseRunner.from_artefact`
opens it, override it for backend options) and one line in `BACKENDS`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..artefacts import ENGINE, KERAS, KINDS, ONNX, kind_name, kind_of, resolve_model
from ..errors import fail
from .base import BaseRunner

#: The backend that picks the first registered backend opening the model's kind.
AUTO = "auto"


@dataclass(frozen=True)
class Backend:
    """A backend: its runner, the artefact kinds it opens, what it needs.

    Args:
        name: String. The `--backend` value.
        runner: String. `"module:Class"` of its `BaseRunner` subclass.
        opens: Tuple of artefact kinds (`artefacts.KINDS`) its runner takes.
        needs: String. The package it imports (for messages and docs).
        runtime: Boolean. Offered by the streaming runtime (`run`, `bench`); `False`
            for backends that must never load there (Keras imports TensorFlow).
        takes: Tuple of strings. Runner keywords of this backend alone that a command
            may pass to any model (`open_model(..., only_if_taken=...)`), e.g. Keras'
            `unsafe` (`--unsafe-keras`).
    """

    name: str
    runner: str
    opens: tuple[str, ...]
    needs: str
    runtime: bool = True
    takes: tuple[str, ...] = ()

    def runner_class(self) -> type[BaseRunner]:
        """Import and return the runner class."""
        module, _, cls = self.runner.partition(":")
        return getattr(importlib.import_module(module), cls)

    def open(self, path: str | os.PathLike, kind: str, **options) -> BaseRunner:
        """An inactive runner for the model file `path` of artefact kind `kind`."""
        return self.runner_class().from_artefact(Path(path), kind, **options)


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("onnxruntime", "edgeaction.engine.ort:OrtRunner", (ONNX,), "onnxruntime"),
        Backend("tensorrt", "edgeaction.engine.trt:TrtRunner", (ENGINE, ONNX), "tensorrt"),
        Backend(
            "keras",
            "edgeaction.keras_runner:KerasRunner",
            (KERAS,),
            "tensorflow",
            runtime=False,
            takes=("unsafe",),
        ),
    )
}


def backend_choices(include_keras: bool = False, auto: bool = False) -> list[str]:
    """The `--backend` values: registered backends (Keras only with `include_keras`),
    after `"auto"` when `auto`."""
    names = [n for n, b in BACKENDS.items() if b.runtime or include_keras]
    return [AUTO, *names] if auto else names


def check_backend(backend: str, include_keras: bool = False) -> None:
    """Fail with one line unless `backend` is `"auto"` or a registered backend."""
    choices = backend_choices(include_keras, auto=True)
    if backend not in choices:
        fail(f"--backend must be one of {', '.join(choices)}. Received: {backend!r}")


def select_backend(
    kind: str,
    backend: str = AUTO,
    strict: bool = True,
    include_keras: bool = False,
    what: str | None = None,
) -> Backend:
    """The backend that runs a model of artefact kind `kind`.

    Args:
        kind: String. An artefact kind (`artefacts.resolve_model`).
        backend: String. A registered name, or `"auto"`: the first backend that opens
            `kind`. Defaults to `"auto"`.
        strict: Boolean. Fail when `backend` cannot open `kind`; `False` takes the
            `"auto"` choice then (the runtime: an engine file always runs on TensorRT,
            whatever `--backend` says). Defaults to `True`.
        include_keras: Boolean. Accept backends the runtime does not offer.
        what: String or None. The model's path, for messages.
    """
    check_backend(backend, include_keras)
    allowed = [b for b in BACKENDS.values() if b.runtime or include_keras]
    if backend != AUTO:
        chosen = BACKENDS[backend]
        if kind in chosen.opens:
            return chosen
        if strict:
            others = [b.name for b in allowed if kind in b.opens]
            opens = " or ".join(kind_name(k) for k in chosen.opens)
            fail(
                f"{what or 'the model'} is {kind_name(kind)}; --backend {backend} opens "
                f"{opens}: use --backend {' or '.join([*others, AUTO])}"
            )
    for b in allowed:
        if kind in b.opens:
            return b
    choices = ", ".join(backend_choices(include_keras))
    fail(f"no backend here opens {kind_name(kind)}; --backend must be one of {choices}")


def accepted_kinds(include_keras: bool = False, backend: str = AUTO) -> tuple[str, ...]:
    """Artefact kinds the backends open, `backend`'s first (its directory preference)."""
    allowed = [b for b in BACKENDS.values() if b.runtime or include_keras]
    first = BACKENDS[backend].opens if backend in BACKENDS else ()
    rest = [k for k in KINDS if any(k in b.opens for b in allowed) and k not in first]
    return (*[k for k in KINDS if k in first], *rest)


def open_model(
    path: str | os.PathLike,
    backend: str = AUTO,
    strict: bool = True,
    include_keras: bool = False,
    only_if_taken: dict | None = None,
    **options,
) -> BaseRunner:
    """Resolve `path` (`artefacts.resolve_model`) and open it on its backend.

    Args:
        path: A model file, or a run / export directory.
        backend: String. See `select_backend`. Defaults to `"auto"`.
        strict: Boolean. See `select_backend`. Defaults to `True`.
        include_keras: Boolean. Accept `.keras` models and the Keras backend (never in
            the runtime). Defaults to `False`.
        only_if_taken: Dict or None. Runner keywords passed only to a backend whose
            `takes` lists them (e.g. `{"unsafe": True}` for `--unsafe-keras`).
        **options: Passed to the runner's `from_artefact` (`contract`, `part`,
            `cache_dir`, `build`, runner keywords such as `intra_op_threads`).

    Returns:
        An inactive runner; its `backend` attribute names the backend.
    """
    check_backend(backend, include_keras)
    kinds = accepted_kinds(include_keras, backend if strict else AUTO)
    kind, p = resolve_model(path, kinds)
    chosen = select_backend(kind, backend, strict, include_keras, what=str(p))
    taken = {k: v for k, v in (only_if_taken or {}).items() if k in chosen.takes}
    return chosen.open(p, kind, **taken, **options)


def runs_on(path: str | os.PathLike, backend: str = AUTO) -> str:
    """The name of the backend `open_runner(path, backend)` will run on, from the file
    name alone (no file is read; a directory counts as its `model.onnx`)."""
    kind = kind_of(path) or ONNX
    return select_backend(kind, backend, strict=False).name
