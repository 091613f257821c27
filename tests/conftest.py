"""Shared fixtures: every path the settings name points into tmp_path (autouse)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "reports"
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
