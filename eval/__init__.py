"""Retrieval-accuracy harness: labeled questions → Recall@k, MRR, nDCG, abstention, latency, failures."""
