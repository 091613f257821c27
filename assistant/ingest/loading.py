"""Read report files into `Document`s: decode bytes, one loader per format.

Offsets everywhere point into `Document.text`: the decoded file with universal newlines
(``\\r\\n`` -> ``\\n``) and no BOM. Loaders for other formats plug into `LOADERS`.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import os
from collections.abc import Callable
from pathlib import Path

from charset_normalizer import from_bytes

from assistant.errors import IngestError
from assistant.records import Document

_MB = 1024 * 1024
Loader = Callable[[Path, bytes, str], Document]


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\n\r\t\f") or ch == "\ufffd")
    return 1.0 - bad / len(text)


def _cjk_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef")
    return good / len(text)


def _plausible_text_ratio(text: str) -> float:
    ok = sum(1 for ch in text if ch.isprintable() and ord(ch) < 0x2500 or "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or ch in "\n\t")
    return ok / max(1, len(text))


def _try_utf16(raw: bytes) -> tuple[str, str] | None:
    """UTF-16 without a BOM: accept a decoding only when it reads as CJK/ASCII text."""
    if len(raw) < 4 or len(raw) % 2:
        return None
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausible_text_ratio(text[:5000]) > 0.95:
            return text, enc
    return None


def decode_bytes(raw: bytes, source: str) -> tuple[str, str]:
    """Decode report bytes: BOMs, strict UTF-8, UTF-16, then a detector as the last resort."""
    if not raw.strip():
        raise IngestError(source, "empty file")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return _finish(raw.decode(enc), enc, source)
            except UnicodeDecodeError as exc:
                raise IngestError(source, f"cannot decode as {enc}: {exc.reason} at byte {exc.start}") from None
    try:
        return _finish(raw.decode("utf-8"), "utf-8", source)
    except UnicodeDecodeError:
        pass
    lenient = raw.decode("utf-8", errors="replace")
    if lenient.count("\ufffd") <= max(3, len(raw) // 5000) and _cjk_ratio(lenient) > 0.2:
        # UTF-8 with a few damaged bytes (a truncated download): keep it, the damage shows as U+FFFD
        return _finish(lenient, "utf-8 (damaged bytes replaced)", source)
    utf16 = _try_utf16(raw)
    if utf16:
        return _finish(utf16[0], utf16[1], source)
    if raw.count(0) > len(raw) // 100:
        raise IngestError(source, "binary file (not text)")
    candidates: list[tuple[str, str]] = []
    try:
        candidates.append((raw.decode("gb18030"), "gb18030"))
    except UnicodeDecodeError:
        pass
    guess = from_bytes(raw[:200_000]).best()
    if guess is not None and guess.encoding:
        try:
            candidates.append((raw.decode(guess.encoding), guess.encoding))
        except (UnicodeDecodeError, LookupError):
            pass
    candidates = [(t, e) for t, e in candidates if _printable_ratio(t) > 0.97]
    if not candidates:
        raise IngestError(source, "undecodable text: neither UTF-8, UTF-16 nor GB18030, and no encoding detected")
    text, enc = max(candidates, key=lambda c: _cjk_ratio(c[0]))
    return _finish(text, enc, source)


def _finish(text: str, encoding: str, source: str) -> tuple[str, str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if _printable_ratio(text[:20_000]) < 0.97:
        raise IngestError(source, f"binary file (decoded as {encoding}, but mostly control characters)")
    if not text.strip():
        raise IngestError(source, "empty file (only whitespace)")
    return text, encoding


def load_text(path: Path, raw: bytes, source: str) -> Document:
    text, encoding = decode_bytes(raw, source)
    return Document(source=source, text=text, encoding=encoding, file_hash=hashlib.sha256(raw).hexdigest()[:16],
                    fmt=path.suffix.lower().lstrip("."))


def _lazy(module: str, name: str) -> Loader:
    """Import a format's loader (and its parsing library) only when a file of that format is loaded."""

    def load(path: Path, raw: bytes, source: str) -> Document:
        loader: Loader = getattr(importlib.import_module(module), name)
        return loader(path, raw, source)

    return load


LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".md": _lazy("assistant.ingest.formats.markdown", "load_markdown"),
    ".pdf": _lazy("assistant.ingest.formats.pdf", "load_pdf"),
    ".docx": _lazy("assistant.ingest.formats.docx", "load_docx"),
    ".html": _lazy("assistant.ingest.formats.html", "load_html"),
    ".htm": _lazy("assistant.ingest.formats.html", "load_html"),
}


def supported_suffixes() -> list[str]:
    return sorted(LOADERS)


def source_name(path: Path, data_dir: Path | None) -> str:
    """The file's name as stored in the index and shown: relative to the data dir when inside it, and
    readable whatever bytes the name is made of."""
    if data_dir is not None:
        try:
            return readable_name(path.resolve().relative_to(data_dir.resolve()).as_posix())
        except ValueError:
            pass
    return readable_name(path.name)


def readable_name(name: str) -> str:
    """A name from disk as people read it: bytes that are not UTF-8 (GBK names from Windows shares and
    zip files) decoded as GB18030, whatever is left replaced; control characters dropped."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        raw = os.fsencode(name)
        try:
            name = raw.decode("gb18030")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", errors="replace")
    return "".join(ch for ch in name if ch.isprintable())


def load_document(path: Path, data_dir: Path | None = None, max_bytes: int | None = None,
                  follow_links: bool = False) -> Document:
    """Load one file; every failure is an `IngestError` naming the file and the cause."""
    source = source_name(path, data_dir)
    if not follow_links and data_dir is not None and _links_out(path, data_dir):
        raise IngestError(source, f"a link to {path.resolve()}, outside the data folder: not followed "
                                  "(REPORTQA_FOLLOW_SYMLINKS=true to allow)")
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(source, f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(supported_suffixes())}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(source, f"cannot read file: {exc.strerror}") from None
    if max_bytes is not None and size > max_bytes:
        raise IngestError(
            source, f"file is {size / _MB:.1f} MB, over the limit of {max_bytes / _MB:g} MB (REPORTQA_MAX_FILE_MB)"
        )
    raw = _read_limited(path, source, max_bytes)
    return loader(path, raw, source)


def _links_out(path: Path, data_dir: Path) -> bool:
    """The path lies in the data folder but, through a symbolic link, reads a file outside it."""
    root = data_dir.resolve()
    lexical = Path(os.path.abspath(path))
    return lexical.is_relative_to(os.path.abspath(data_dir)) and not path.resolve().is_relative_to(root)


def _read_limited(path: Path, source: str, max_bytes: int | None) -> bytes:
    """Read at most one byte past the limit, so a file that grew after stat() (or a pipe) is still refused."""
    try:
        with path.open("rb") as fh:
            if max_bytes is None:
                return fh.read()
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(source, f"cannot read file: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise IngestError(source, f"file is over the limit of {max_bytes / _MB:g} MB (REPORTQA_MAX_FILE_MB)")
    return raw


def discover(paths: list[Path]) -> list[Path]:
    """Files to ingest: supported files under the given folders, and every file named explicitly."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in LOADERS
            )
        else:
            found.append(p)  # load_document reports a missing or unsupported file by name
    return found
