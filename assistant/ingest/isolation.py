"""Read each file in a worker process with a time and a memory budget, so that one file can neither
hang an ingest nor exhaust its memory: a reader still busy after REPORTQA_PARSE_TIMEOUT_S is killed,
one that asks for more than REPORTQA_PARSE_MEMORY_MB fails in the worker, and either file is reported
by name while the rest of the ingest goes on.

The worker is a plain ``python -c`` subprocess fed pickled requests over a pipe, reused for every
file of one ingest and started again after a kill. Not `multiprocessing`: its spawn and forkserver
workers import the parent's ``__main__`` again (``app.py``: the whole server), and fork is unsafe once
Chroma and ONNX Runtime have started their threads. Small plain-text files are read in the ingest
process: a worker start (~0.1 s) costs more than reading them.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import selectors
import signal
import struct
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from assistant.errors import IngestError
from assistant.ingest.loading import ReadLimits, load_document, source_name
from assistant.records import Document

if TYPE_CHECKING:  # the worker imports this module: it has no use for pydantic
    from assistant.settings import Settings

_HEADER = struct.Struct("!Q")
_INLINE = (".txt", ".md")
_START_TIMEOUT_S = 60.0  # the worker's own start (imports) is not charged to the first file
_READY = b"R"
_WORKER = "from assistant.ingest.isolation import serve; serve()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class FileReader:
    """`load_document` for one ingest, under the settings' budgets; use it as a context manager so
    the worker is stopped at the end."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.limits = ReadLimits(html_depth=settings.max_html_depth)
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self._worker: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self, path: Path) -> Document:
        """The file's `Document`; an `IngestError` for a bad file, a budget exceeded included."""
        if self._inline(path):
            return load_document(path, self.settings.data_dir, self.max_bytes, self.settings.follow_symlinks,
                                 self.limits)
        source = source_name(path, self.settings.data_dir)
        request = (path, self.settings.data_dir, self.max_bytes, self.settings.follow_symlinks, self.limits)
        answer = self._ask(request, source)
        if answer[0] == "ok":
            document: Document = answer[1]
            return document
        if answer[0] == "error":
            raise IngestError(answer[1], answer[2])
        self._stop()  # "memory": the worker's heap is spent, a fresh one reads the next file
        raise IngestError(source, self._memory_reason())

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            if worker.stdin:
                worker.stdin.close()  # the worker ends at the end of its input
            worker.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._worker = worker
            self._stop()
            return
        if worker.stdout:
            worker.stdout.close()

    def _inline(self, path: Path) -> bool:
        if path.suffix.lower() not in _INLINE:
            return False
        try:
            return path.stat().st_size <= self.settings.parse_inline_kb * 1024
        except OSError:
            return True  # load_document reports it by name

    def _ask(self, request: tuple, source: str) -> tuple[Any, ...]:
        worker = self._worker or self._start(source)
        assert worker.stdin is not None and worker.stdout is not None
        try:
            _send(worker.stdin, request)
            answer = _receive(worker.stdout, time.monotonic() + self.settings.parse_timeout_s)
        except TimeoutError:
            self._stop()
            raise IngestError(source, f"读取超时：{self.settings.parse_timeout_s:g} 秒内未读完"
                                      "（REPORTQA_PARSE_TIMEOUT_S），已停止读取此文件") from None
        except (BrokenPipeError, EOFError):
            try:
                code: int | None = worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            self._stop()
            raise IngestError(source, self._crash_reason(code)) from None
        return answer

    def _start(self, source: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        budgets = [str(self.settings.parse_memory_mb), str(self.settings.parse_timeout_s)]
        worker = subprocess.Popen([sys.executable, "-c", _WORKER, *budgets],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._worker = worker
        assert worker.stdout is not None
        try:
            if _read_exact(worker.stdout, 1, time.monotonic() + _START_TIMEOUT_S) != _READY:
                raise EOFError
        except (TimeoutError, EOFError):
            self._stop()
            raise IngestError(source, "读取文件的子进程无法启动") from None
        return worker

    def _stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()
            worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe:
                    with suppress(OSError):  # a request cut off by the kill cannot be flushed
                        pipe.close()

    def _memory_reason(self) -> str:
        return f"读取时超出内存上限 {self.settings.parse_memory_mb} MB（REPORTQA_PARSE_MEMORY_MB），已停止读取此文件"

    def _crash_reason(self, code: int | None) -> str:
        if code is None:
            how = "不再应答"
        else:
            how = signal.Signals(-code).name if code < 0 and -code in signal.valid_signals() else f"退出码 {code}"
        budget = (f"，可能超出内存上限 {self.settings.parse_memory_mb} MB（REPORTQA_PARSE_MEMORY_MB）"
                  if self.settings.parse_memory_mb else "")
        return f"读取此文件的子进程意外退出（{how}）{budget}"


def _send(pipe: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_HEADER.pack(len(data)) + data)
    pipe.flush()


def _receive(pipe: IO[bytes], deadline: float) -> Any:
    (size,) = _HEADER.unpack(_read_exact(pipe, _HEADER.size, deadline))
    return pickle.loads(_read_exact(pipe, size, deadline))


def _readable(fd: int, timeout: float) -> bool:
    """Whether `fd` has data within `timeout` s. A selector (poll/epoll), not select(): a process with
    Chroma, the model and a thousand open files gets descriptors past select()'s limit of 1024."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout))


def _read_exact(pipe: IO[bytes], size: int, deadline: float) -> bytes:
    """`size` bytes from the worker; TimeoutError past the deadline, EOFError when it is gone."""
    fd = pipe.fileno()
    buf = bytearray()
    while len(buf) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not _readable(fd, left):
            raise TimeoutError
        chunk = os.read(fd, min(size - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def serve() -> None:
    """The worker: one request in, one answer out, until its input ends. The answer channel is the
    original stdout; what a parser prints goes to stderr. An alarm past each file's time budget ends
    the worker even when the ingest that started it was killed and cannot."""
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    alarm_s = math.ceil(float(sys.argv[2])) + 5 if len(sys.argv) > 2 else 0
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    out.write(_READY)
    out.flush()
    while True:
        header = inp.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        path, data_dir, max_bytes, follow_links, limits = pickle.loads(inp.read(_HEADER.unpack(header)[0]))
        signal.alarm(alarm_s)
        try:
            answer: tuple[Any, ...] = ("ok", load_document(path, data_dir, max_bytes, follow_links, limits))
        except IngestError as exc:
            answer = ("error", exc.source, exc.reason)
        except MemoryError:
            answer = ("memory",)
        except Exception as exc:  # noqa: BLE001 - a reader's bug is one file's error, not the ingest's end
            answer = ("error", source_name(path, data_dir), f"读取失败（{type(exc).__name__}: {str(exc)[:120]}）")
        signal.alarm(0)
        try:
            _send(out, answer)
        except MemoryError:
            _send(out, ("memory",))
        if answer[0] == "memory":
            return
