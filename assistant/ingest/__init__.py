"""The ingest stage: files -> documents -> reports -> chunks -> the index (loading, formats, cleaning, splitting, metadata, chunking, the indexer)."""
