"""Files derived once from a model folder (ONNX exports, the SentencePiece model), rebuilt when what
they were made from changes, written so that a killed build leaves no bad file."""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def source_stamp(model_dir: Path, names: tuple[str, ...]) -> dict[str, list[int]]:
    """Size and mtime of the source files that exist: a change to any of them makes a new stamp."""
    out = {}
    for name in names:
        p = model_dir / name
        if p.is_file():
            st = p.stat()
            out[name] = [st.st_size, st.st_mtime_ns]
    return out


def build_cached(target: Path, stamp: dict[str, Any], build: Callable[[Path], None]) -> Path:
    """`target`, built by `build(tmp_path)` unless a file made from the same `stamp` is already there."""
    with _lock:
        if not is_fresh(target, stamp):
            atomic_build(target, build, stamp)
    return target


def is_fresh(target: Path, stamp: dict[str, Any]) -> bool:
    try:
        return target.is_file() and json.loads(target.with_suffix(".json").read_text(encoding="utf-8")) == stamp
    except (OSError, ValueError):
        return False


def atomic_build(target: Path, build: Callable[[Path], None], stamp: dict[str, Any]) -> None:
    """Run `build(tmp_path)` and move the result into place, then write its stamp beside it. Files the
    build wrote beside its result under its name (model.onnx.data: a graph's external weights) move
    first, the result last; its other scratch files are dropped."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = target.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp_dir.mkdir()
    try:
        tmp = tmp_dir / target.name
        build(tmp)
        for companion in tmp_dir.iterdir():
            if companion != tmp and companion.name.startswith(target.name):
                companion.chmod(tmp.stat().st_mode & 0o777)
                os.replace(companion, target.parent / companion.name)
        os.replace(tmp, target)
        target.with_suffix(".json").write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
