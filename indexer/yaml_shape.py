"""The expected shape of an editor's YAML (mappings, lists of strings, numbers), checked before any code reads it:
a value of the wrong shape (``intents: foo``, ``scopes: [1]``) is one clear lint error and is left out, instead of a
traceback from the code that would have iterated it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Report = Callable[[str, str], None]  # (key path, message)

_NAMES = {dict: "a mapping", list: "a list", str: "text", int: "an integer", bool: "true or false",
          float: "a number"}


@dataclass(frozen=True)
class Each:
    """A mapping whose every value has ``shape`` (a type, a list spec or a nested mapping spec)."""
    shape: Any


@dataclass(frozen=True)
class ListOf:
    """A list whose items are of ``kind``: a type, or a mapping spec that each item (a mapping) is conformed to."""
    kind: Any


def _describe(shape: Any) -> str:
    if isinstance(shape, ListOf):
        kind = dict if isinstance(shape.kind, dict) else shape.kind
        return "a list of " + {dict: "mappings", str: "texts"}.get(kind, _NAMES.get(kind, kind.__name__))
    if isinstance(shape, (dict, Each)):
        return "a mapping"
    if isinstance(shape, tuple):
        return " or ".join(_NAMES.get(kind, kind.__name__) for kind in shape)
    return _NAMES.get(shape, shape.__name__)


def _is(value: Any, kind) -> bool:
    """isinstance, except that yes/no is no number."""
    if isinstance(value, bool):
        return kind is bool or (isinstance(kind, tuple) and bool in kind)
    return isinstance(value, kind)


def _fits(value: Any, shape: Any) -> bool:
    if isinstance(shape, ListOf):
        kind = dict if isinstance(shape.kind, dict) else shape.kind
        return isinstance(value, list) and all(_is(x, kind) for x in value)
    if isinstance(shape, (dict, Each)):
        return isinstance(value, dict)
    return _is(value, shape)


def conform(data: dict, shape: dict, report: Report, where: str = "") -> dict:
    """``data`` less every value (at any depth) that does not fit ``shape``, each one reported; keys the shape
    does not name, and empty (None) values, pass as they are."""
    out = {}
    for key, value in data.items():
        want, name = shape.get(key), f"{where}{key}"
        if want is None or value is None:
            out[key] = value
        elif not _fits(value, want):
            report(str(key), f"'{name}' must be {_describe(want)}")
        elif isinstance(want, dict):
            out[key] = conform(value, want, report, f"{name}.")
        elif isinstance(want, ListOf) and isinstance(want.kind, dict):
            out[key] = [conform(item, want.kind, report, f"{name}[{n}].") for n, item in enumerate(value)]
        elif isinstance(want, Each):
            out[key] = {}
            for k, v in value.items():
                if v is not None and not _fits(v, want.shape):
                    report(str(k), f"'{name}.{k}' must be {_describe(want.shape)}")
                elif isinstance(want.shape, dict) and v is not None:
                    out[key][k] = conform(v, want.shape, report, f"{name}.{k}.")
                else:
                    out[key][k] = v
        else:
            out[key] = value
    return out
