"""An ingest killed (SIGKILL) at any point leaves the index consistent and searchable; re-running completes it.

A real child process ingests with the fake embedder, slowed down and with small embedding batches
(only here, in the script) so that there are many points to kill it at: after it starts, after
each batch of chunks is stored, and just after a file's last batch, while its manifest record is
being committed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from assistant.ingest.chunking import Chunker
from assistant.ingest.loading import load_document
from assistant.ingest.parsing import parse_document
from assistant.qa import ReportQA
from tests.builders import REPORT_BLOCKS, ROOT, SAMPLE_DIR, assert_consistent, make_pdf
from tests.fakes import BigramEmbedder

pytestmark = pytest.mark.slow

SCRIPT = r"""
import os, sys, time
from pathlib import Path

import assistant.ingest.indexer
from assistant.qa import ReportQA
from assistant.settings import Settings
from tests.fakes import BigramEmbedder

assistant.ingest.indexer.EMBED_BATCH = 8
DELAY = float(os.environ["CRASH_TEST_EMBED_DELAY_S"])


class SlowEmbedder(BigramEmbedder):
    def embed_documents(self, texts):
        time.sleep(DELAY)
        return super().embed_documents(texts)


settings = Settings(data_dir=Path(sys.argv[1]), home_dir=Path(sys.argv[2]), _env_file=None)
qa = ReportQA(settings, SlowEmbedder())
print("READY", flush=True)
qa.ingest(progress=lambda done, total, source: print("PROGRESS", done, total, source, flush=True))
print("DONE", flush=True)
"""

FILES = ["000_80012d082ab10aeb.txt", "002_66024b6037eae503.txt", "004_a5efa3cb74e78c11.txt"]
# (progress lines to wait for, extra seconds) before SIGKILL. The index carries over from one run to the
# next, and a run skips what the last one committed, so small counts still reach further each time.
KILL_POINTS = [(0, 0.0), (1, 0.0), (2, 0.01), (3, 0.03), (2, 0.0), (4, 0.05)]


def start_ingest(settings) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTQA_")}
    env.update(CRASH_TEST_EMBED_DELAY_S="0.03", ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(settings.data_dir), str(settings.home_dir)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )


def kill_after(proc: subprocess.Popen, progress_lines: int, delay: float) -> bool:
    """SIGKILL the child after it printed READY and `progress_lines` PROGRESS lines; False if it finished first."""
    seen = -1
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(("READY", "PROGRESS")):
            seen += 1
        if line.startswith("DONE"):
            break
        if seen >= progress_lines:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return proc.returncode == -signal.SIGKILL
    proc.wait(timeout=60)
    return False


def inspect(settings) -> tuple[dict[str, int], int]:
    """Open the index as a fresh process would and check it: (visible chunks per file, stored chunks)."""
    from chromadb.api.client import SharedSystemClient

    qa = ReportQA(settings, BigramEmbedder())
    try:
        per_file = assert_consistent(qa)
        if per_file:
            assert qa.search("地区生产总值增长", k=3)
        return per_file, qa.store.count()
    finally:
        del qa
        SharedSystemClient.clear_system_cache()


def test_killed_ingests_leave_a_consistent_index_and_rerun_completes(settings):
    for name in FILES:
        shutil.copy(SAMPLE_DIR / name, settings.data_dir / name)
    (settings.data_dir / "报告.pdf").write_bytes(make_pdf(REPORT_BLOCKS))
    chunker = Chunker(settings.chunk_target, settings.chunk_max)
    expected = {}
    for path in sorted(settings.data_dir.iterdir()):
        pf = parse_document(load_document(path, settings.data_dir), chunker)
        expected[pf.document.source] = {c.chunk_id for c in pf.chunks}

    killed = 0
    history = []
    for lines, delay in KILL_POINTS:
        killed += kill_after(start_ingest(settings), lines, delay)
        per_file, stored = inspect(settings)
        history.append((per_file, stored))
        for source, n in per_file.items():
            assert n == len(expected[source])  # a visible file is always whole
    assert killed >= 4, history  # the runs were really cut short ...
    assert any(0 < len(files) < len(expected) for files, _ in history), history  # ... some between files
    assert any(stored > sum(files.values()) for files, stored in history), history  # ... some inside a file

    proc = start_ingest(settings)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE" in out
    per_file, _ = inspect(settings)
    assert per_file == {s: len(ids) for s, ids in expected.items()}

    qa = ReportQA(settings, BigramEmbedder())
    qa.retriever.view.refresh(force=True)
    assert set(qa.retriever.view.chunks) == set().union(*expected.values())
    assert qa.store.count() == sum(per_file.values())  # nothing left over from the killed runs
    summary = qa.ingest()
    assert {o.status for o in summary.outcomes} == {"unchanged"}


DELETE_SCRIPT = r"""
import sys
from pathlib import Path

from assistant.qa import ReportQA
from assistant.settings import Settings
from tests.fakes import BigramEmbedder

settings = Settings(data_dir=Path(sys.argv[1]), home_dir=Path(sys.argv[2]), _env_file=None)
qa = ReportQA(settings, BigramEmbedder())
qa.remove(sys.argv[3], settings.data_dir / sys.argv[3])
print("REMOVED", flush=True)
"""


def test_a_delete_in_another_process_racing_an_ingest_leaves_a_consistent_index(settings):
    """Two real processes on one index: one ingests a new version of a file (slowly, batch by batch),
    the other deletes that file meanwhile. The delete waits for the ingest's lock, so whichever order
    they commit in, a fresh process finds the index whole and the file gone, with nothing left over."""
    shutil.copy(SAMPLE_DIR / FILES[0], settings.data_dir / FILES[0])
    shutil.copy(SAMPLE_DIR / FILES[2], settings.data_dir / "r.txt")
    ReportQA(settings, BigramEmbedder()).ingest()
    shutil.copy(SAMPLE_DIR / FILES[1], settings.data_dir / "r.txt")  # a new version under the same name
    ingest = start_ingest(settings)
    assert ingest.stdout is not None
    for line in ingest.stdout:  # the ingest is inside its work: some batches of the new version stored
        if line.startswith("PROGRESS") and int(line.split()[1]) >= 2:
            break
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTQA_")}
    env.update(ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(ROOT))
    delete = subprocess.run([sys.executable, "-c", DELETE_SCRIPT, str(settings.data_dir), str(settings.home_dir), "r.txt"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out, _ = ingest.communicate(timeout=300)
    assert delete.returncode == 0 and "REMOVED" in delete.stdout, delete.stderr[-2000:]
    assert ingest.returncode == 0 and "DONE" in out
    per_file, stored = inspect(settings)
    assert not (settings.data_dir / "r.txt").exists()
    assert list(per_file) == [FILES[0]] and stored == per_file[FILES[0]]  # the deleted file left no chunk behind
    qa = ReportQA(settings, BigramEmbedder())
    assert qa.check() == [] and {o.status for o in qa.ingest().outcomes} == {"unchanged"}
