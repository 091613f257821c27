"""Read report files into `Document`s: decode bytes, one loader per format.

Offsets everywhere point into `Document.text`: the decoded file with universal newlines
(``\\r\\n`` -> ``\\n``) and no BOM. Loaders for other formats plug into `LOADERS`.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from charset_normalizer import from_bytes

from assistant.errors import IngestError
from assistant.records import Document

_MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Budgets a reader checks before it parses, from the settings: what would cost the parser minutes
    is refused in milliseconds (a page nested 80,000 levels deep takes the HTML parser about a minute)."""

    html_depth: int = 10_000  # REPORTQA_MAX_HTML_DEPTH


NO_LIMITS = ReadLimits()


class Loader(Protocol):
    def __call__(self, path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document: ...


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
        raise IngestError(source, "空文件")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return _finish(raw.decode(enc), enc, source)
            except UnicodeDecodeError as exc:
                raise IngestError(source, f"文件开头的 BOM 标明编码为 {enc}，但第 {exc.start} 字节无法按此"
                                          f"解码（{exc.reason}），文件可能已损坏") from None
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
        raise IngestError(source, "不是文本文件（二进制内容）")
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
        raise IngestError(source, "无法识别文字编码：不是 UTF-8、UTF-16 或 GB18030，也检测不出其他编码；"
                                  "请另存为 UTF-8 后再导入")
    text, enc = max(candidates, key=lambda c: _cjk_ratio(c[0]))
    return _finish(text, enc, source)


def _finish(text: str, encoding: str, source: str) -> tuple[str, str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if _printable_ratio(text[:20_000]) < 0.97:
        raise IngestError(source, f"不是文本文件（按 {encoding} 解码后大多是控制字符）")
    if not text.strip():
        raise IngestError(source, "空文件（只有空白字符）")
    return text, encoding


def load_text(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
    text, encoding = decode_bytes(raw, source)
    return Document(source=source, text=text, encoding=encoding, file_hash=hashlib.sha256(raw).hexdigest()[:16],
                    fmt=path.suffix.lower().lstrip("."))


def _lazy(module: str, name: str) -> Loader:
    """Import a format's loader (and its parsing library) only when a file of that format is loaded."""

    def load(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
        loader: Loader = getattr(importlib.import_module(module), name)
        return loader(path, raw, source, limits)

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


_OS_REASONS = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
               errno.EISDIR: "这是文件夹，不是文件", errno.ELOOP: "链接循环指向自身", errno.EIO: "磁盘读取出错"}


def _megabytes(size: int) -> str:
    """A size as people read it (50, 12.5, 0.011), not the float a limit in bytes makes (0.000999451)."""
    return f"{size / _MB:.1f}".removesuffix(".0") if size >= 10 * _MB else f"{size / _MB:.2g}"


def os_reason(exc: OSError) -> str:
    """The system's reason in Chinese where it is a common one, else as the system gives it."""
    return _OS_REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def load_document(path: Path, data_dir: Path | None = None, max_bytes: int | None = None,
                  follow_links: bool = False, limits: ReadLimits = NO_LIMITS) -> Document:
    """Load one file in this process; every failure is an `IngestError` naming the file and the cause.
    An ingest reads through `isolation.FileReader`, which runs this in a worker with a time and a
    memory budget."""
    source = source_name(path, data_dir)
    if not follow_links and data_dir is not None and _links_out(path, data_dir):
        raise IngestError(source, f"链接指向数据文件夹之外的 {path.resolve()}，未读取"
                                  "（如确需读取，请设置 REPORTQA_FOLLOW_SYMLINKS=true）")
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(source, f"不支持的文件类型{' ' + path.suffix if path.suffix else '（无扩展名）'}；支持：{'、'.join(supported_suffixes())}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(source, f"无法读取文件：{os_reason(exc)}") from None
    if max_bytes is not None and size > max_bytes:
        raise IngestError(
            source, f"文件大小 {_megabytes(size)} MB，超过 {_megabytes(max_bytes)} MB 的上限（REPORTQA_MAX_FILE_MB）"
        )
    raw = _read_limited(path, source, max_bytes)
    return loader(path, raw, source, limits)


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
        raise IngestError(source, f"无法读取文件：{os_reason(exc)}") from None
    if len(raw) > max_bytes:
        raise IngestError(source, f"文件超过 {_megabytes(max_bytes)} MB 的上限（REPORTQA_MAX_FILE_MB）")
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
