"""``python -m eval.triage``: triage accuracy and follow-up retrieval on the labelled sets in eval/triage/.

    python -m eval.triage --kb kb --as-of 2026-11-22 [--messages FILE] [--followups FILE] [--json]

Prints per-label precision/recall/F1 for intent, urgency and emotion, the intent confusion matrix, hand-off
precision/recall, and Recall@3 of the follow-ups asked bare, with their conversation, and in full. The sets
measure; nothing is fitted on them (the weights come from the triage data's taxonomy.yaml, see ``--fit``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from core import config as cfg

SETTINGS = ("embedder", "followup_max_chars")
TRIAGE_DIR = Path(__file__).parent / "triage"
TRAIN_DIR = Path(__file__).parent / "triage_train"


def prf(gold: list, pred: list, label) -> dict:
    tp = sum(g == label and p == label for g, p in zip(gold, pred))
    fp = sum(g != label and p == label for g, p in zip(gold, pred))
    fn = sum(g == label and p != label for g, p in zip(gold, pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "n": tp + fn, "predicted": tp + fp}


def turns_of(item: dict):
    from assist import Turn

    return tuple(Turn(t["role"], t["text"]) for t in item.get("conversation") or ())


def score_messages(assistant, items: list[dict]) -> dict:
    from retrieval import Query

    rows = []
    for item in items:
        t = assistant.answer(Query(item["text"], top_k=5), turns_of(item)).triage
        rows.append({"id": item["id"], "text": item["text"], "gold": {k: item[k] for k in (
            "intent", "urgency", "emotion", "handoff", "handoff_reason")},
            "pred": {"intent": t.intent.label, "urgency": t.urgency.label, "emotion": t.emotion.label,
                     "handoff": t.handoff, "handoff_reason": t.handoff_reason}})
    out: dict = {"n": len(rows)}
    for dim in ("intent", "urgency", "emotion"):
        gold = [r["gold"][dim] for r in rows]
        pred = [r["pred"][dim] for r in rows]
        out[dim] = {"accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(rows), 3),
                    "labels": {label: prf(gold, pred, label) for label in sorted(set(gold) | set(pred))}}
    intents = sorted({r["gold"]["intent"] for r in rows} | {r["pred"]["intent"] for r in rows})
    confusion = Counter((r["gold"]["intent"], r["pred"]["intent"]) for r in rows)
    out["intent"]["confusion"] = {"labels": intents,
                                  "rows": [[confusion[(g, p)] for p in intents] for g in intents]}
    out["handoff"] = prf([r["gold"]["handoff"] for r in rows], [r["pred"]["handoff"] for r in rows], True)
    both = [r for r in rows if r["gold"]["handoff"] and r["pred"]["handoff"]]
    out["handoff"]["reason_accuracy"] = round(
        sum(r["gold"]["handoff_reason"] == r["pred"]["handoff_reason"] for r in both) / len(both), 3) if both else 0
    out["headline"] = {"intent_accuracy": out["intent"]["accuracy"],
                       "angry_f1": out["emotion"]["labels"].get("angry", {}).get("f1", 0.0),
                       "urgency_high_recall": out["urgency"]["labels"].get("high", {}).get("recall", 0.0),
                       "handoff_recall": out["handoff"]["recall"], "handoff_precision": out["handoff"]["precision"]}
    out["errors"] = [r for r in rows if any(r["gold"][k] != r["pred"][k] for k in ("intent", "urgency", "emotion",
                                                                                   "handoff"))]
    return out


def score_followups(assistant, items: list[dict], k: int = 3) -> dict:
    from retrieval import Query

    def hit(text: str, relevant: list[str], turns=()) -> bool:
        answer = assistant.answer(Query(text, top_k=k), turns, with_triage=False)
        return bool({s.article_id for s in answer.result.suggestions[:k]} & set(relevant))

    counts = Counter()
    misses = []
    for item in items:
        found = {"bare": hit(item["q"], item["relevant"]),
                 "context": hit(item["q"], item["relevant"], turns_of(item)),
                 "full": hit(item["q_full"], item["relevant"])}
        counts.update(name for name, ok in found.items() if ok)
        if found["full"] and not found["context"]:
            misses.append(item["q"])
    n = len(items)
    result = {f"recall@{k}_{name}": round(counts[name] / n, 3) for name in ("bare", "context", "full")}
    result["gap_full_minus_context"] = round((counts["full"] - counts["context"]) / n, 3)
    return result | {"n": n, "context_misses": misses}


def markdown(report: dict) -> str:
    m = report["messages"]
    lines = [f"# Triage — {m['n']} messages, {report['followups']['n']} follow-ups (as of {report['as_of']})", "",
             "| headline | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in m["headline"].items()]
    lines += [f"| follow-up {k} | {v:.3f} |" for k, v in report["followups"].items() if k.startswith(("recall", "gap"))]
    for dim in ("intent", "urgency", "emotion"):
        lines += ["", f"## {dim} (accuracy {m[dim]['accuracy']:.3f})", "",
                  "| label | P | R | F1 | n | predicted |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {label} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {s['n']} | {s['predicted']} |"
                  for label, s in m[dim]["labels"].items()]
    labels = m["intent"]["confusion"]["labels"]
    lines += ["", "## intent confusion (rows: gold, columns: predicted)", "",
              "| gold \\ pred | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {g} | " + " | ".join(str(c) for c in row) + " |"
              for g, row in zip(labels, m["intent"]["confusion"]["rows"])]
    h = m["handoff"]
    lines += ["", f"## hand-off: P {h['precision']:.3f}, R {h['recall']:.3f}, F1 {h['f1']:.3f} "
                  f"({h['n']} true, {h['predicted']} predicted; reason right on {h['reason_accuracy']:.2f} of hits)"]
    return "\n".join(lines)


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]


def build_assistant(kb: Path, index_root: Path | None, config, as_of: dt.date | None):
    from assist import Assistant
    from indexer.embed import create_embedder
    from retrieval import QueryEncoder, Searcher

    from .harness import prepare_index

    root = index_root or Path("artifacts/eval-index") / hashlib.sha256(str(kb.resolve()).encode()).hexdigest()[:12]
    embedder = create_embedder(config)
    index = prepare_index(kb, root, embedder, config)
    searcher = Searcher(index, QueryEncoder(embedder, config.query_cache_size), config,
                        today=(lambda: as_of) if as_of else dt.date.today)
    assistant = Assistant(searcher, config)
    if assistant.model is None:
        raise SystemExit(f"error: the index of {kb} has no triage data (built by an older release?); rebuild it")
    return assistant


def evaluate(kb: Path, messages: Path, followups: Path | None, config, as_of: dt.date | None,
             index_root: Path | None = None) -> dict:
    """``followups`` None: the messages only (a training set's check must not also score the measuring set's
    follow-ups)."""
    assistant = build_assistant(kb, index_root, config, as_of)
    return {"kb": str(kb), "as_of": (as_of or dt.date.today()).isoformat(),
            "index_version": assistant.searcher.index.version,
            "messages": score_messages(assistant, load_jsonl(messages)),
            "followups": score_followups(assistant, load_jsonl(followups)) if followups else {"n": 0}}


def followups_for(messages: Path, given: str | None) -> Path | None:
    """The follow-ups to score: those given, else the measuring set's only beside its own messages."""
    if given:
        return Path(given)
    return TRIAGE_DIR / "followups.jsonl" if messages.resolve() == (TRIAGE_DIR / "messages.jsonl").resolve() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.triage", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="kb", help="KB folder; its _assist/ layers over the built-in triage data (default: kb)")
    parser.add_argument("--messages", default=str(TRIAGE_DIR / "messages.jsonl"))
    parser.add_argument("--followups", help="multi-turn retrieval items (default: eval/triage/followups.jsonl when "
                                             "--messages is the measuring set, else none)")
    parser.add_argument("--index", help="index root to build into or reuse (default: artifacts/eval-index/<kb>)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="date for article validity (YYYY-MM-DD)")
    parser.add_argument("--json", action="store_true", help="print JSON (with every error) instead of Markdown")
    parser.add_argument("--errors", action="store_true", help="also list the misclassified messages")
    parser.add_argument("--fit", action="store_true",
                        help="leave-one-out fit of the scoring weights on the triage examples (built in plus the KB's), "
                             "printed for taxonomy.yaml; the eval sets are not read")
    parser.add_argument("--fit-check", action="store_true",
                        help="fit the classifier's operating points on the totals of eval/triage_train/check.jsonl "
                             "(never on eval/triage), printed for taxonomy.yaml")
    cfg.add_arguments(parser, SETTINGS)
    args = parser.parse_args(argv)
    config = cfg.load(cfg.overrides_from(args, SETTINGS))
    if args.fit:
        from .triage_fit import fit

        print(json.dumps(fit(build_assistant(Path(args.kb), Path(args.index) if args.index else None, config,
                                             args.as_of)), ensure_ascii=False, indent=2))
        return 0
    if args.fit_check:
        from .triage_fit import fit_check

        assistant = build_assistant(Path(args.kb), Path(args.index) if args.index else None, config, args.as_of)
        print(json.dumps(fit_check(assistant, load_jsonl(TRAIN_DIR / "check.jsonl"), score_messages), ensure_ascii=False, indent=2))
        return 0
    report = evaluate(Path(args.kb), Path(args.messages), followups_for(Path(args.messages), args.followups),
                      config, args.as_of, Path(args.index) if args.index else None)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(markdown(report))
    if args.errors:
        for row in report["messages"]["errors"]:
            wrong = {k: f"{row['gold'][k]}→{row['pred'][k]}" for k in row["gold"]
                     if k != "handoff_reason" and row["gold"][k] != row["pred"][k]}
            print(f"- {row['id']} {row['text']}: {wrong}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
