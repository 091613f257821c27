"""The answer stage: answerers (extractive, LLM), follow-ups, citations, refusals, prompts and the pipeline that joins them."""
