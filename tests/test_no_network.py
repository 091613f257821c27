"""Nothing reaches the network: `reportqa ingest` and `reportqa ask` with the real model and the real
Chroma run under strace, and no socket of the internet families is connected or sent to (a DNS look-up
of a telemetry host is a `connect`/`sendto` on an AF_INET socket). Intranet users run with no network;
a blocked look-up would cost them seconds, an open one would leak that the product ran."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import SAMPLE_DIR


def _can_trace() -> bool:
    """strace installed and allowed to trace here (a container may forbid ptrace)."""
    if shutil.which("strace") is None:
        return False
    try:
        return subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(not _can_trace(), reason="strace is not installed or may not trace here")]

INTERNET = re.compile(r"\b(?:connect|sendto|sendmsg)\(\d+, \{sa_family=AF_INET6?\b")


def _traced(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("reportqa")
    return subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(log), str(cli), *args],
                          env=env, capture_output=True, text=True, timeout=600, input="盘锦2024年GDP增长多少？\n")


def test_ingest_and_ask_open_no_internet_socket(tmp_path, shared_model_settings):
    data = tmp_path / "reports"
    data.mkdir()
    shutil.copy(SAMPLE_DIR / "002_66024b6037eae503.txt", data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTQA_")}
    env.update(REPORTQA_DATA_DIR=str(data), REPORTQA_HOME_DIR=str(tmp_path / "home"),
               REPORTQA_MODEL_DIR=str(shared_model_settings.model_dir))
    for name, args in (("ingest", ["ingest"]), ("ask", ["ask", "--json", "-"])):
        log = tmp_path / f"{name}.strace"
        done = _traced(args, env, log)
        assert done.returncode == 0, done.stderr[-2000:]
        calls = [line for line in log.read_text(errors="replace").splitlines() if INTERNET.search(line)]
        assert calls == [], f"reportqa {name} opened internet sockets: {calls[:5]}"
    assert "3.5%" in done.stdout  # the ask really answered, from the index the ingest built
