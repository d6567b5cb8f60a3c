"""The bottom layer: settings and the names every other package shares.

Layers, lowest first, each importing only from those below it:
core → indexer (the build job and the index format) → retrieval (query time) → server, eval, bench.
"""
