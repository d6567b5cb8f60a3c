"""Precision of the chat alignment on a labelled history (``eval/chats/<shop>/sessions.jsonl``).

Each labelled agent turn says what it restates (``restates: ["article#heading"]``) or that it answered from outside
the KB (``kind: answer_no_kb``). The aligner maps every answering turn; a mapping is right when its article is one
the turn restates. Printed per evidence threshold (with the question-agreement gate of ``align_question_rank``): mapped
share, precision, and how many no-KB answers were wrongly mapped, so that the ``align_min_evidence`` setting can be chosen on one shop's history and checked on another's.

    python -m eval.alignment --kb eval/shops/baby/kb --chats eval/chats/baby/sessions.jsonl --as-of 2026-11-22
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core import config as cfg

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class Judged:
    truth: frozenset[str]  # articles the turn restates; empty: answered from outside the KB
    mapped: str | None
    evidence: float
    question_rank: int  # where the customer's question itself ranks the mapped article (0 = first)


def labelled_answers(path: Path) -> list[tuple[str, frozenset[str], dt.date, str]]:
    """(agent text, the articles it restates, its day, the customer question it answers) of every answering agent
    turn of a labelled history."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            turns = json.loads(line)["turns"]
            for turn in turns:
                if turn["role"] == "agent" and turn.get("kind") in ("answer", "answer_no_kb"):
                    restated = frozenset(r.split("#")[0] for r in turn.get("restates") or ())
                    asked = [turns[i]["text"] for i in turn.get("answers") or ()]
                    out.append((turn["text"], restated if turn["kind"] == "answer" else frozenset(),
                                dt.datetime.fromisoformat(turn["at"]).date(), asked[0] if asked else ""))
    return out


def judge(answers, searcher) -> list[Judged]:
    from core.masking import mask
    from learn.align import _nearest, is_answer, map_answer
    from learn.exports import CUSTOMER, Message

    judged = []
    for text, truth, day, question in answers:
        text = mask(text)
        if not is_answer(text) or not question:  # the aligner skips it: unmapped
            judged.append(Judged(truth, None, 0.0, 99))
            continue
        article, _, evidence = map_answer(searcher, text, 0.0, day)
        asked = Message(CUSTOMER, dt.datetime.combine(day, dt.time()), mask(question))
        rank = _nearest(searcher.on(day), [asked], article)[1] if article else 99
        judged.append(Judged(truth, article, evidence, rank))
    return judged


def table(judged: list[Judged], question_rank: int) -> list[dict]:
    rows = []
    for threshold in THRESHOLDS:
        mapped = [j for j in judged if j.mapped is not None and j.evidence >= threshold
                  and j.question_rank < question_rank]
        right = sum(j.mapped in j.truth for j in mapped)
        in_kb = sum(bool(j.truth) for j in judged)
        rows.append({"min_evidence": threshold, "mapped": len(mapped), "right": right,
                     "precision": round(right / len(mapped), 4) if mapped else None,
                     "recall": round(right / in_kb, 4) if in_kb else None,
                     "no_kb_mapped": sum(not j.truth for j in mapped)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.alignment", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="the shop's KB folder")
    parser.add_argument("--chats", required=True, type=Path, help="a labelled history (sessions.jsonl)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="the day the KB's validity is judged on")
    parser.add_argument("--index", help="a built index of the KB (default: built into a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    cfg.add_arguments(parser, ("embedder", "align_question_rank"))
    args = parser.parse_args(argv)
    config = cfg.load(cfg.overrides_from(args, ("embedder", "align_question_rank")))
    searcher = open_searcher(Path(args.kb), args.index, config, args.as_of)
    rows = table(judge(labelled_answers(args.chats), searcher), config.align_question_rank)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'min_evidence':>12} {'mapped':>7} {'right':>6} {'precision':>9} {'recall':>7} {'no-KB mapped':>12}")
    for r in rows:
        print(f"{r['min_evidence']:>12} {r['mapped']:>7} {r['right']:>6} {r['precision'] or 0:>9.3f} "
              f"{r['recall'] or 0:>7.3f} {r['no_kb_mapped']:>12}")
    return 0


def open_searcher(kb: Path, index: str | None, config, as_of: dt.date | None):
    """A searcher over ``index`` (built from ``kb`` into a temp folder when not given)."""
    from indexer.build import build
    from indexer.embed import create_embedder
    from indexer.store import load_index
    from retrieval import QueryEncoder, Searcher
    from assist.train import trainers_for

    embedder = create_embedder(config)
    root = Path(index) if index else Path(tempfile.mkdtemp(prefix="kbs-align-"))
    if not index:
        build(kb, root, embedder, config, trainers=trainers_for(config))
    today = as_of or dt.date.today()
    return Searcher(load_index(root, embedder.id, embedder.dim), QueryEncoder(embedder, 64), config,
                    today=lambda: today)


if __name__ == "__main__":
    sys.exit(main())
