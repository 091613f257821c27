"""The one upload service for the chat and the API: a safe name under data_dir/uploads, never another
user's file replaced, and nothing but this upload's own new file removed when it fails."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.loading import supported_suffixes

UPLOAD_DIR = "uploads"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-.()（）\u3400-\u4dbf\u4e00-\u9fff]+")


def safe_name(filename: str | None) -> str:
    """The last path component, NFKC-normalised, odd characters replaced, a supported suffix in lower
    case. Raises ValueError (a sentence for the user) when the type is not supported."""
    name = unicodedata.normalize("NFKC", (filename or "").replace("\\", "/")).rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in supported_suffixes():
        shown = f" .{suffix}" if dot else "（无扩展名）"
        raise ValueError(f"不支持的文件类型{shown}；支持：{'、'.join(supported_suffixes())}")
    stem = _UNSAFE.sub("_", stem).strip("._ ")[:100] or "report"
    return f"{stem}.{suffix.lower()}"


@dataclass(frozen=True)
class Stored:
    path: Path
    created: bool  # False: the same bytes were already there under this name, reused


def store(folder: Path, name: str, data: bytes) -> Stored:
    """Write `data` as `name` in `folder`, or as `name-2`, `name-3` … when a file of that name (in any
    letter case) holds other bytes. The same bytes under the same name are reused, not copied again."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    stem, suffix = Path(name).stem, Path(name).suffix
    for i in range(1, 10_000):
        candidate = name if i == 1 else f"{stem}-{i}{suffix}"
        existing = taken.get(candidate.lower())
        if existing is None:
            return Stored(_write_new(folder / candidate, data), True)
        if existing.name == candidate and existing.stat().st_size == len(data) and existing.read_bytes() == data:
            return Stored(existing, False)
    raise ValueError(f"名为 {name} 的上传文件太多，请改名后再上传")


def _write_new(path: Path, data: bytes) -> Path:
    """Write atomically, and never over a file that appeared meanwhile (another upload, same name)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)  # fails if the name was taken meanwhile
    except FileExistsError:
        tmp.unlink()
        return store(path.parent, path.name, data).path
    except OSError:
        os.replace(tmp, path)  # a file system without hard links
        return path
    tmp.unlink()
    return path


def discard_new(stored: list[Stored], failed: set[Path]) -> None:
    """Remove the files this upload created that did not index (an error, a duplicate); an earlier file
    with the name is never touched."""
    for s in stored:
        if s.created and s.path in failed:
            s.path.unlink(missing_ok=True)
