"""The tree reads like the pipeline: a package per stage, and the store/model package below the
assistant (it never imports it back), so either side can change without the other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

STAGES = ("ingest", "retrieval", "answer", "serve", "evaluation", "profiles")


def _imported(source: str) -> set[str]:
    """Every module a piece of source imports, however it spells it: `import a.b`, `from a import b`
    (both `a` and `a.b`), and relative imports, which only the tests package uses."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from .test_x import …, from . import test_x: inside the tests package
                module = f"tests.{module}" if module else "tests"
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _imports(path: Path) -> set[str]:
    return _imported(path.read_text(encoding="utf-8"))


def test_store_and_models_never_import_the_assistant():
    offenders = {p.name: sorted(m for m in _imports(p) if m.split(".")[0] == "assistant")
                 for p in (ROOT / "vectorstore").glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_stage_is_a_package_and_no_stage_module_is_left_flat():
    for stage in STAGES:
        assert (ROOT / "assistant" / stage / "__init__.py").is_file(), stage
    flat = sorted(p.stem for p in (ROOT / "assistant").glob("*.py"))
    # only what every stage shares (records, settings, errors), the wiring (qa, backends) and the CLI
    assert flat == ["__init__", "backends", "cli", "errors", "qa", "records", "settings"]


def test_earlier_stages_never_import_later_ones():
    order = {"ingest": 0, "retrieval": 1, "answer": 2, "evaluation": 3, "serve": 3}
    wrong = []
    for stage, rank in order.items():
        for path in (ROOT / "assistant" / stage).rglob("*.py"):
            for mod in _imports(path):
                parts = mod.split(".")
                if parts[0] == "assistant" and len(parts) > 1 and order.get(parts[1], -1) > rank:
                    wrong.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert wrong == []


def _test_modules_imported(source: str) -> list[str]:
    """The test modules (tests/test_*.py) a piece of source imports."""
    parts = [m.split(".") for m in _imported(source)]
    return sorted({f"tests.{p[1]}" for p in parts if len(p) > 1 and p[0] == "tests" and p[1].startswith("test_")})


def test_no_test_module_imports_another():
    """Shared builders live in tests/builders.py, fakes in tests/fakes.py, fixtures in tests/conftest.py:
    a test module that imports another ties the two together and runs the other's module-level set-up."""
    assert _test_modules_imported(
        "from tests.test_api import report_text\nimport tests.test_ui\nfrom tests import test_fuzz, fakes\n"
        "from .test_formats import make_pdf\nfrom tests.builders import free_port\n"
    ) == ["tests.test_api", "tests.test_formats", "tests.test_fuzz", "tests.test_ui"]
    offenders = {p.name: found for p in sorted((ROOT / "tests").rglob("*.py"))
                 if (found := _test_modules_imported(p.read_text(encoding="utf-8")))}
    assert offenders == {}
