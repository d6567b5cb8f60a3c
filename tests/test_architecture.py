"""The house rules that keep the code base easy to change: one-way layers, no cycles, small files."""
import shutil

import pytest

from core import sources
from tests.helpers import ROOT

# Lowest first. A package may import from its own layer's package and from lower layers only.
LAYERS = {"core": 0, "indexer": 1, "storage": 1, "retrieval": 2, "assist": 3, "learn": 3, "report": 4, "server": 5, "eval": 5,
          "bench": 6}
# Command-line entry points compose the layers (the build CLI passes the query-time trainer to the build
# job), so they sit on top, whatever package holds them.
ENTRY_POINTS = {"indexer.cli", "indexer.__main__"}
TOP = max(LAYERS.values())
MAX_LINES = {"retrieval": 250, "assist": 250}


def test_imports_point_down_the_layers_only():
    assert set(sources.PACKAGES) == set(LAYERS)
    wrong = []
    for module, targets in sources.graph().items():
        top = module.split(".")[0]
        layer = TOP if module in ENTRY_POINTS else LAYERS[top]
        for target in targets:
            target_top = target.split(".")[0]
            if target_top != top and LAYERS[target_top] >= layer:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = sources.graph()
    # a package's __init__ re-exporting its modules is not a cycle of logic: leave package→child edges out
    graph = {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" → ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_query_time_files_stay_small():
    big = [f"{path.relative_to(ROOT)}: {n} lines" for package, limit in MAX_LINES.items()
           for path in (ROOT / package).rglob("*.py")
           if (n := len(path.read_text("utf-8").splitlines())) > limit]
    assert not big, big


def test_the_package_docstrings_say_the_true_layers():
    """core's docstring draws the layers, lowest first (``a, b`` share a layer): the same as LAYERS."""
    import core

    drawn = next(l for l in core.__doc__.splitlines() if "→" in l)
    layers = [sorted(p.strip() for p in group.split(",")) for group in drawn.strip().rstrip(".").split("→")]
    by_rank = {}
    for package, rank in LAYERS.items():
        by_rank.setdefault(rank, []).append(package)
    assert layers == [sorted(by_rank[r]) for r in sorted(by_rank)], drawn


@pytest.mark.parametrize("root, must_cover", [
    ("indexer.build", {"indexer.parse", "indexer.chunk", "indexer.tokenize", "indexer.bm25", "indexer.store"}),
    ("retrieval.train", {"retrieval.rewrite", "retrieval.catalog", "retrieval.features", "retrieval.search"}),
    ("assist.train", {"assist.classifier", "assist.model"})])
def test_a_change_to_any_imported_module_changes_the_fingerprint(tmp_path, root, must_cover):
    """What makes an index or a trained model stale is derived from the import graph: editing any module the
    root imports (directly or not), or a data file of its packages, changes its fingerprint."""
    for package in sources.PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    covered = sources.closure([root], tmp_path)
    assert must_cover <= set(covered)
    before = sources.fingerprint((root,), "", tmp_path)
    assert before == sources.fingerprint((root,), "", ROOT), "the same source, the same fingerprint"
    found = sources.modules(tmp_path)
    deepest = [m for m in covered if m not in sources.graph(tmp_path)[root]][:: 6]  # imported only indirectly
    changed = [found[m] for m in sorted(must_cover) + deepest] + sources.data_files(covered, tmp_path)[:: 8]
    for path in changed:
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        sources.fingerprint.cache_clear()
        assert sources.fingerprint((root,), "", tmp_path) != before, f"editing {path.relative_to(tmp_path)}"
        path.write_bytes(original)
    outside = next(found[m] for m in found if m not in covered and m.startswith("server."))
    outside.write_bytes(outside.read_bytes() + b"\n# edited\n")
    sources.fingerprint.cache_clear()
    assert sources.fingerprint((root,), "", tmp_path) == before, "a module it does not import does not count"
