"""The retrieval arms' names, spelled once: the settings, the searcher, the API and the eval use these."""
DENSE = "dense"  # FAISS over section vectors
BM25 = "bm25"  # keyword scores over section tokens
QUESTIONS = "questions"  # FAISS over each article's title and ``questions:`` phrasings
ARMS: tuple[str, ...] = (DENSE, BM25, QUESTIONS)
