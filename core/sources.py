"""The project's own import graph, read from the source (``ast``, nothing imported): the architecture test checks
the layers on it, and a built index or trained model is stale when any module its code imports has changed.

Fingerprints are derived, never listed by hand: the source of every project module reachable from a root
module, plus the data files (YAML, word lists) shipped inside the packages those modules belong to.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "indexer", "storage", "retrieval", "assist", "learn", "report", "server", "eval", "bench")
_DATA_SUFFIXES = {".yaml", ".yml", ".txt", ".json", ".md"}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every project module by dotted name (a package's ``__init__`` under the package's name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-level imports count too)."""
    stat = path.stat()
    return set(_named(module, str(path), stat.st_mtime_ns, stat.st_size)) & set(known) - {module}


@functools.lru_cache(maxsize=None)
def _named(module: str, path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Every dotted name an import statement of the file may mean; parsed once per version of the file."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(Path(path).read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return tuple(out)


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    return {m: imports(m, p, found) for m, p in found.items()}


def closure(roots: Iterable[str], root: Path = ROOT) -> list[str]:
    """The roots and every project module they import, directly or not (a module imports its packages'
    ``__init__`` too, which Python runs first). Only these files are parsed."""
    found = modules(root)
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        if module not in found:
            raise KeyError(f"{module} is not a project module")
        seen.add(module)
        parents = [".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1)]
        todo.extend(imports(module, found[module], found) | {p for p in parents if p in found})
    return sorted(seen)


def data_files(module_names: Iterable[str], root: Path = ROOT) -> list[Path]:
    """The data files (YAML, word lists, comfort lines) shipped in these modules' top-level packages: what their
    code may read."""
    files = set()
    for package in {m.split(".")[0] for m in module_names}:
        files |= {p for p in (root / package).rglob("*") if p.is_file() and p.suffix in _DATA_SUFFIXES
                  and "__pycache__" not in p.parts and p.name != "README.md"}
    return sorted(files)


@functools.lru_cache(maxsize=None)
def fingerprint(roots: tuple[str, ...], extra: str = "", root: Path = ROOT) -> str:
    """Hash of the source of everything ``roots`` import and of their packages' data files, and ``extra``
    (settings): what makes built data stale. Read once per process and roots."""
    found = modules(root)
    names = closure(roots, root)
    digest = hashlib.sha256()
    for path in [found[m] for m in names] + data_files(names, root):
        digest.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(extra.encode("utf-8"))
    return digest.hexdigest()[:16]
