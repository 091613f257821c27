"""The retrieval stage: question understanding (normalising, places, names, terms), the corpus view, fusion and the hybrid retriever."""
