"""The house rules that keep the code base easy to change: one-way layers, no cycles, small files."""
import ast
from pathlib import Path

from tests.helpers import ROOT

# Lowest first. A package may import from its own layer's package and from lower layers only.
LAYERS = {"core": 0, "indexer": 1, "storage": 1, "retrieval": 2, "assist": 3, "report": 4, "server": 5, "eval": 5,
          "bench": 6}
# Command-line entry points compose the layers (the build CLI passes the query-time trainer to the build
# job), so they sit on top, whatever package holds them.
ENTRY_POINTS = {"indexer.cli", "indexer.__main__"}
TOP = max(LAYERS.values())
MAX_LINES = {"retrieval": 250, "assist": 250}


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-level imports count too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {name for name in names if name in known}
    return out - {module}


def test_imports_point_down_the_layers_only():
    modules = _modules()
    wrong = []
    for module, path in modules.items():
        top = module.split(".")[0]
        layer = TOP if module in ENTRY_POINTS else LAYERS[top]
        for target in _imports(module, path, set(modules)):
            target_top = target.split(".")[0]
            if target_top != top and LAYERS[target_top] >= layer:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _imports(m, p, set(modules)) - {m} for m, p in modules.items()}
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
