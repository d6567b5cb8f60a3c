"""Parse stage for the triage data: taxonomy, cue lexicons, labelled examples and the comfort lines (话术库).

Every KB starts from the built-in pack in ``defaults/assist/`` (a Douyin shop's intents, cues, 589 examples and
comfort lines), so a shop we never saw gets triage without writing any. A KB's own ``<kb>/_assist/`` is a layer over
it, each file optional and holding only what differs:

- ``taxonomy.yaml``: mappings merge key by key, lists replace, ``intents`` merge by label (e.g. the KB's
  ``articles`` that vote for an intent); ``defaults: false`` drops the built-in pack and the KB's folder is all;
- ``cues.yaml``: entries add to a label's cues; the same regular expression re-weights it (0 switches it off);
- ``examples.yaml``: examples add; one with a built-in example's text relabels it;
- ``comfort/*.md``: lines add; one with a built-in line's id replaces it.

Editors change these files; ``indexer lint`` reports their problems like an article's. The result is plain JSON-able
data (stored as ``assist.json`` in the index; the examples' vectors beside it), which the ``assist`` package compiles
at load time. See ``kb/_assist/README.md`` for the format.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .frontmatter import read_yaml, split_front_matter as _split_front_matter, text_of as _text
from .records import Diagnostic
from .scoring import Scoring, ScoringError
from .yaml_shape import Each, ListOf, conform

FOLDER = "_assist"
DEFAULTS = Path(__file__).parent / "defaults" / "assist"
FILES = ("taxonomy.yaml", "cues.yaml", "examples.yaml")
DIMENSIONS = ("intent", "urgency", "emotion")
CUE_GROUPS = ("intent", "emotion", "urgency_high", "handoff")  # label → {regex: weight}
CUE_FLAT = ("urgency_owned", "urgency_browsing", "closure", "push", "followup")  # {regex: weight}
MIN_EXAMPLES_PER_INTENT = 3
_TEXTS = ListOf(str)
SHAPES = {  # what each file must look like before it is read (yaml_shape)
    "taxonomy.yaml": {
        "defaults": bool, "emotions": _TEXTS, "scoring": dict,
        "intents": ListOf({"label": str, "description": str, "categories": _TEXTS, "articles": _TEXTS,
                           "wins_over": _TEXTS, "urgency_prior": str, "urgency_reason": str}),
        "urgency": {"levels": _TEXTS, "reasons": dict, "carried": _TEXTS, "escalation_high_emotions": _TEXTS,
                    "learned_reason": str},
        "handoff": {"reasons": _TEXTS, "carried": _TEXTS, "topic_neutral": _TEXTS, "rounds_over": int,
                    "topic_switch_cue": (int, float)},
        "situations": Each({"intents": _TEXTS, "reasons": _TEXTS, "emotions": _TEXTS, "handoff": _TEXTS}),
    },
    "cues.yaml": {**{group: Each(dict) for group in CUE_GROUPS}, **{group: dict for group in CUE_FLAT},
                  "scopes": Each({"window": int, "words": _TEXTS, "applies_to": _TEXTS})},
    "examples.yaml": {"examples": list},
    "comfort": {"id": str, "title": str, "emotions": _TEXTS, "situations": _TEXTS},
}


@dataclass(frozen=True)
class Layer:
    """One folder of triage data: the built-in pack or a KB's ``_assist/``; ``rel`` names it in diagnostics."""
    folder: Path
    rel: str

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".md")
                      and p.name != "README.md")


BUILT_IN = Layer(DEFAULTS, "<built-in>/" + FOLDER)


class _Report:
    def __init__(self):
        self.found: list[Diagnostic] = []

    def __call__(self, path: str, line: int, severity: str, message: str) -> None:
        self.found.append(Diagnostic(path, line, severity, message))


def _line(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _yaml(layer: Layer, name: str, report: _Report) -> tuple[dict, str]:
    """A file's (data conformed to its shape, text); ({}, "") when it is missing or unreadable."""
    rel = f"{layer.rel}/{name}"
    try:
        data, text, problem = read_yaml(layer.folder / name, rel)
    except FileNotFoundError:
        return {}, ""
    if problem is not None:
        report.found.append(problem)
        return {}, ""
    data = data or {}
    if not isinstance(data, dict):
        report(rel, 1, "error", f"{name} must be a YAML mapping")
        return {}, ""
    return conform(data, SHAPES[name], lambda key, message: report(rel, _line(text, f"{key}:"), "error", message)), \
        text


def _read_layers(kb: Path, report: _Report) -> list[tuple[Layer, dict[str, tuple[dict, str]]]]:
    """Each layer with its files read once: the built-in pack, then the KB's folder when it has one; the KB's
    alone (every file then required) when its taxonomy says ``defaults: false``."""
    own = Layer(kb / FOLDER, FOLDER)
    if not own.folder.is_dir():
        return [(BUILT_IN, _read(BUILT_IN, report))]
    own_files = _read(own, report)
    if own_files["taxonomy.yaml"][0].get("defaults", True):
        return [(BUILT_IN, _read(BUILT_IN, report)), (own, own_files)]
    for name in FILES:
        if not (own.folder / name).is_file():
            report(f"{own.rel}/{name}", 1, "error", f"missing {name} (with 'defaults: false' the KB's {FOLDER}/ "
                                                    f"needs {', '.join(FILES)})")
    return [(own, own_files)]


def _read(layer: Layer, report: _Report) -> dict[str, tuple[dict, str]]:
    return {name: _yaml(layer, name, report) for name in FILES}


def merge(base: Any, over: Any) -> Any:
    """``over`` on ``base``: mappings key by key, anything else (lists included) replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: merge(base[k], v) if k in base else v for k, v in over.items()}}
    return over


def _merge_taxonomy(base: dict, over: dict) -> dict:
    """``merge``, except that ``intents`` (a list) merge by label: the KB adds fields to a built-in intent."""
    merged = merge(base, {k: v for k, v in over.items() if k not in ("intents", "defaults")})
    if over.get("intents") is not None:  # a list of mappings: the shape check left nothing else
        by_label = {i.get("label"): i for i in base.get("intents") or ()}
        for intent in over["intents"]:
            by_label[intent.get("label")] = merge(by_label.get(intent.get("label"), {}), intent)
        merged["intents"] = list(by_label.values())
    return merged


def parse_assist(kb: Path) -> tuple[dict[str, Any] | None, list[Diagnostic], str]:
    """(data or None when it has errors, diagnostics, content hash of every layer's files)."""
    kb = Path(kb)
    report = _Report()
    read = _read_layers(kb, report)
    layers = [layer for layer, _ in read]
    digest = hashlib.sha256()
    for layer in layers:
        for path in layer.files():
            digest.update(f"{layer.rel}/{path.relative_to(layer.folder).as_posix()}".encode() + b"\0"
                          + path.read_bytes() + b"\0")
    taxonomy: dict = {}
    for _, files in read:
        taxonomy = _merge_taxonomy(taxonomy, files["taxonomy.yaml"][0])
    # the taxonomy's problems are reported at the last layer that has one: the KB's file when it writes one
    rel, text = next(((layer.rel, files["taxonomy.yaml"][1]) for layer, files in reversed(read)
                      if files["taxonomy.yaml"][1]), (layers[-1].rel, ""))
    labels = _labels(taxonomy, text, f"{rel}/taxonomy.yaml", report)
    cues: dict = {}
    examples: dict[str, dict] = {}
    comfort: dict[str, dict] = {}
    for layer, files in read:
        cues = merge(cues, _cues(*files["cues.yaml"], labels, f"{layer.rel}/cues.yaml", report))
        examples.update((e["text"], e) for e in _examples(*files["examples.yaml"], labels,
                                                          f"{layer.rel}/examples.yaml", report))
        comfort.update((line["id"], line) for line in _comfort(layer, labels, report))
    data = {"taxonomy": taxonomy, "cues": _cue_lists(cues), "examples": list(examples.values()),
            "comfort": list(comfort.values())}
    _check_counts(data, labels, report, layers[-1].rel)
    if len(layers) > 1 and any(d.severity == "error" and d.path.startswith(BUILT_IN.rel) for d in report.found):
        report(f"{FOLDER}/taxonomy.yaml", 1, "error", "the built-in triage data does not fit this KB's taxonomy "
                                                      "(it renames or drops labels the built-in examples and cues "
                                                      "use): write 'defaults: false' and the whole data")
    errors = any(d.severity == "error" for d in report.found)
    return (None if errors else data), report.found, digest.hexdigest()


def _labels(taxonomy: dict, text: str, rel: str, report: _Report) -> dict[str, tuple[str, ...]]:
    """The label sets of the merged taxonomy, its problems reported at the KB's file (``text``) when it has one."""
    intents = taxonomy.get("intents") or []
    if not isinstance(intents, list) or not all(isinstance(i, dict) and i.get("label") for i in intents):
        report(rel, _line(text, "intents"), "error", "'intents' must be a list of {label, …}")
        intents = []
    urgency = (taxonomy.get("urgency") or {})
    handoff = (taxonomy.get("handoff") or {})
    labels = {"intent": tuple(str(i["label"]) for i in intents),
              "urgency": tuple(urgency.get("levels") or ()), "reason": tuple(urgency.get("reasons") or ()),
              "emotion": tuple(taxonomy.get("emotions") or ()), "handoff": tuple(handoff.get("reasons") or ()),
              "situation": tuple(taxonomy.get("situations") or ())}
    for key, want in (("urgency", {"high", "normal", "low"}), ("emotion", {"neutral"})):
        if not want <= set(labels[key]):
            report(rel, _line(text, key), "error", f"{key} labels must include {', '.join(sorted(want))}")
    for key, field, section, known in (("urgency", "carried", urgency, "reason"),
                                       ("handoff", "carried", handoff, "handoff"),
                                       ("urgency", "escalation_high_emotions", urgency, "emotion"),
                                       ("handoff", "topic_neutral", handoff, "intent")):
        unknown = set(section.get(field) or ()) - set(labels[known])
        if unknown:
            report(rel, _line(text, field), "error", f"{key}.{field} names unknown {known}(s) {sorted(unknown)}")
    for intent in intents:
        unknown = set(intent.get("wins_over") or ()) - set(labels["intent"])
        if unknown:
            report(rel, _line(text, "wins_over"), "error", f"wins_over names unknown intent(s) {sorted(unknown)}")
        if intent.get("urgency_prior", "normal") not in labels["urgency"]:
            report(rel, _line(text, str(intent["label"])), "error", "urgency_prior must be an urgency level")
        if intent.get("urgency_reason") not in (None, *labels["reason"]):
            report(rel, _line(text, str(intent["label"])), "error", "urgency_reason must be an urgency reason")
    if urgency.get("learned_reason") not in (None, *labels["reason"]):
        report(rel, _line(text, "learned_reason"), "error", "urgency.learned_reason must be an urgency reason")
    for name, rule in (taxonomy.get("situations") or {}).items():
        for field, known in (("intents", "intent"), ("reasons", "reason"), ("emotions", "emotion"),
                             ("handoff", "handoff")):
            unknown = set((rule or {}).get(field) or ()) - set(labels[known])
            if unknown:
                report(rel, _line(text, f"{name}:"), "error", f"situation {name!r} names unknown {field}: "
                                                               f"{', '.join(sorted(unknown))}")
    try:
        Scoring.from_mapping(taxonomy.get("scoring") or {})
    except ScoringError as exc:
        report(rel, _line(text, f"{exc.key}:") if exc.key and f"{exc.key}:" in text else _line(text, "scoring"),
               "error", str(exc))
    return labels


def _patterns(mapping: Any, where: str, text: str, rel: str, report: _Report) -> dict[str, float]:
    if not isinstance(mapping, dict):
        report(rel, _line(text, where.split(".")[-1] + ":"), "error",
               f"{where} must map regular expressions to weights")
        return {}
    out = {}
    for pattern, weight in mapping.items():
        line = _line(text, str(pattern))
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            report(rel, line, "error", f"{where}: weight of {pattern!r} must be a number")
            continue
        try:
            if re.compile(str(pattern)).match(""):
                report(rel, line, "error", f"{where}: {pattern!r} matches the empty string")
                continue
        except re.error as exc:
            report(rel, line, "error", f"{where}: {pattern!r} is not a valid regular expression: {exc}")
            continue
        out[str(pattern)] = float(weight)
    return out


def _cues(cues: dict, text: str, labels: dict, rel: str, report: _Report) -> dict:
    """One layer's cues as {group: {label: {regex: weight}}} (flat groups {regex: weight}), ready to ``merge``."""
    known = {"intent": labels["intent"], "emotion": labels["emotion"], "urgency_high": labels["reason"],
             "handoff": labels["handoff"]}
    out: dict[str, Any] = {"scopes": {}}
    for group in CUE_GROUPS:
        out[group] = {}
        for label, mapping in (cues.get(group) or {}).items():
            if label not in known[group]:
                report(rel, _line(text, f"{label}:"), "error", f"{group}: {label!r} is not a label of the taxonomy")
                continue
            out[group][label] = _patterns(mapping, f"{group}.{label}", text, rel, report)
    for group in CUE_FLAT:
        out[group] = _patterns(cues.get(group) or {}, group, text, rel, report)
    for name, scope in (cues.get("scopes") or {}).items():
        words, targets = scope.get("words") or [], scope.get("applies_to") or []
        bad = [t for t in targets if t.partition(".")[0] not in CUE_GROUPS
               or t.partition(".")[2] not in known.get(t.partition(".")[0], ())]
        if bad or not isinstance(scope.get("window"), int) or not words:
            report(rel, _line(text, f"{name}:"), "error", f"scope {name!r} needs an integer window, words and "
                                                          f"applies_to of group.label (unknown: {bad})")
            continue
        out["scopes"][name] = {"window": scope["window"], "words": [str(w) for w in words], "applies_to": targets}
    return out


def _cue_lists(cues: dict) -> dict:
    """Merged cues in the index's form: [[regex, weight], …] per label; a weight of 0 (a KB switching a built-in
    cue off) leaves it out."""
    def listed(mapping: dict) -> list[list]:
        return [[pattern, weight] for pattern, weight in mapping.items() if weight != 0]

    out: dict[str, Any] = {"scopes": cues.get("scopes", {})}
    for group in CUE_GROUPS:
        out[group] = {label: listed(mapping) for label, mapping in cues.get(group, {}).items()}
    for group in CUE_FLAT:
        out[group] = listed(cues.get(group, {}))
    return out


def _examples(examples: dict, text: str, labels: dict, rel: str, report: _Report) -> list[dict]:
    out, seen = [], set()
    for entry in examples.get("examples") or []:
        message = str((entry or {}).get("text", "")).strip() if isinstance(entry, dict) else ""
        line = _line(text, message) if message else 1
        if not message:
            report(rel, line, "error", "an example needs a non-empty 'text'")
            continue
        bad = [f"{dim}={entry.get(dim)!r}" for dim in DIMENSIONS if entry.get(dim) not in labels[dim]]
        if entry.get("handoff") is not None and entry["handoff"] not in labels["handoff"]:
            bad.append(f"handoff={entry['handoff']!r}")
        if bad:
            report(rel, line, "error", f"example {message!r}: unknown label(s) {', '.join(bad)}")
            continue
        if message in seen:
            report(rel, line, "warning", f"example {message!r} is listed twice")
            continue
        seen.add(message)
        out.append({"text": message, **{dim: entry[dim] for dim in DIMENSIONS}, "handoff": entry.get("handoff")})
    return out


def _check_counts(data: dict, labels: dict, report: _Report, rel: str) -> None:
    """Warnings on the merged data: an intent too few examples make recognisable, no comfort lines."""
    for intent in labels["intent"]:
        count = sum(e["intent"] == intent for e in data["examples"])
        if count < MIN_EXAMPLES_PER_INTENT:
            report(f"{rel}/examples.yaml", 1, "warning", f"intent {intent!r} has {count} examples; "
                                                         f"{MIN_EXAMPLES_PER_INTENT} or more make it recognisable")
    if not data["comfort"]:
        report(f"{rel}/comfort", 1, "warning", "no comfort lines (话术库): responses will carry none")


def _comfort(layer: Layer, labels: dict, report: _Report) -> list[dict]:
    out, ids = [], set()
    for path in sorted((layer.folder / "comfort").glob("*.md")):
        rel = f"{layer.rel}/{path.relative_to(layer.folder).as_posix()}"

        def local(line: int, severity: str, message: str, rel=rel) -> None:
            report(rel, line, severity, message)

        try:
            meta, body, body_line = _split_front_matter(_text(path.read_bytes()), local)
        except UnicodeDecodeError:
            local(1, "error", "file is not valid UTF-8")
            continue
        if meta is None:
            continue
        meta = conform(meta, SHAPES["comfort"], lambda key, message: local(2, "error", message))
        unknown = set(meta) - set(SHAPES["comfort"])
        if unknown:
            local(2, "warning", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        line_id = meta.get("id", path.stem)
        emotions, situations = meta.get("emotions") or [], meta.get("situations") or []
        bad = (set(emotions) - set(labels["emotion"])) | (set(situations) - set(labels["situation"]))
        if bad:
            local(2, "error", f"unknown emotion(s)/situation(s): {', '.join(sorted(map(str, bad)))}")
        elif not body.strip():
            local(body_line, "error", "empty comfort line")
        elif line_id in ids:
            local(2, "error", f"duplicate comfort id {line_id!r}")
        elif not emotions and not situations:
            local(2, "error", "a comfort line needs emotions or situations, or it would fit every message")
        else:
            ids.add(line_id)
            out.append({"id": str(line_id), "title": str(meta.get("title") or line_id), "emotions": list(emotions),
                        "situations": list(situations), "text": " ".join(body.split())})
    return out
