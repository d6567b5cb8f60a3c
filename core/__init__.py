"""The bottom layer: settings and the names every other package shares.

Layers, lowest first, each importing only from those below it (``tests/test_architecture.py`` checks the code and
this line against each other):
core → indexer, storage → retrieval → assist, learn → report → server, eval → bench

core: settings, masking, statistics, the import graph; indexer: the build job and the index format; storage: the
feedback and the query log; retrieval: query time; assist: triage, comfort lines, conversation context; report:
the weekly report; server: the HTTP API; eval, bench: accuracy and performance.
"""
