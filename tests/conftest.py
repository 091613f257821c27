"""Shared fixtures: every path the settings name points into tmp_path (autouse); the sample corpus indexed
once per session, with the fake embedder and with the real model, for the tests that only read it."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from assistant.settings import Settings
from tests.builders import ROOT, SAMPLE_DIR, indexed_copy, real_index

if TYPE_CHECKING:
    from assistant.qa import ReportQA

__all__ = ["ROOT", "SAMPLE_DIR", "SAMPLE_FILES"]  # ROOT and SAMPLE_DIR are defined in tests/builders.py

SAMPLE_FILES = sorted(p.name for p in SAMPLE_DIR.glob("*.txt"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads the user's .env or writes outside tmp_path; no test touches a model hub."""
    monkeypatch.chdir(tmp_path)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    for key in list(__import__("os").environ):
        if key.startswith("REPORTQA_"):
            monkeypatch.delenv(key)


@pytest.fixture
def settings(tmp_path) -> Settings:
    data = tmp_path / "reports"
    data.mkdir()
    return Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None)


@pytest.fixture
def sample_settings(tmp_path) -> Settings:
    """Settings over a copy of the sample corpus."""
    data = tmp_path / "reports"
    shutil.copytree(SAMPLE_DIR, data)
    return Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None)


@pytest.fixture(scope="session")
def shared_model_settings() -> Settings:
    """Settings whose model dir is the project's own, so the converted model is built once per machine."""
    return Settings(_env_file=None)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory) -> Settings:
    """Settings of one copy of the sample corpus indexed with the fake embedder, shared by every test
    that only reads it. A test that ingests, removes or uploads builds its own (`sample_settings`)."""
    return indexed_copy(tmp_path_factory.mktemp("sample-index"))


@pytest.fixture(scope="session")
def sample_qa(sample_index) -> ReportQA:
    """A `ReportQA` over `sample_index` (the fake embedder), shared read-only; a test that patches one
    of its attributes puts it back."""
    from assistant.qa import ReportQA
    from tests.fakes import BigramEmbedder

    return ReportQA(sample_index, BigramEmbedder())


@pytest.fixture(scope="session")
def real_sample_qa(tmp_path_factory, shared_model_settings) -> ReportQA:
    """The sample corpus indexed with the real model (the default ONNX int8 backend) and the embedded
    Chroma, once per session, shared read-only by the integration tests (the CLI ones read its folders)."""
    return real_index(tmp_path_factory.mktemp("real-index"), shared_model_settings.model_dir, "onnx-int8")
