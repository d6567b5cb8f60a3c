"""Time-split evaluation of learning from a shop's history: learn from the chats before a day, measure on the
customer questions after it, with and without the learned data.

The history is a labelled export (``eval/chats/<shop>/sessions.jsonl``): it is imported exactly as a shop's export
would be (labels ignored: ``python -m indexer import-chats`` with ``--before``), then every later customer turn
labelled ``asks`` becomes a test question (``asks: []`` = a question the KB cannot answer). Each question is
judged on its own day (a campaign article was valid then). Printed: R@1/R@3/MRR@10, false abstention and the share
of out-of-KB questions left unconfident, for the KB alone and with what it learned; the same on the past questions
(in-sample: the learned index has seen them) next to them.

    python -m eval.timesplit --kb eval/shops/baby/kb --chats eval/chats/baby/sessions.jsonl --split 2026-10-01
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

from core import config as cfg
from core.masking import mask

SETTINGS = ("embedder", "learned_min_support", "align_min_evidence", "align_question_rank", "align_unanswered_below")


def questions_of(path: Path) -> list[tuple[dt.date, str, tuple[str, ...]]]:
    """(day, masked text, relevant ids) of every customer turn labelled with ``asks``."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            for turn in json.loads(line)["turns"]:
                if turn["role"] == "customer" and turn.get("asks") is not None:
                    out.append((dt.datetime.fromisoformat(turn["at"]).date(), mask(turn["text"]),
                                tuple(turn["asks"])))
    return out


def measure(searcher, questions) -> dict:
    from eval.harness import K, Outcome, Question, summarize
    from retrieval.types import Query

    outcomes = [Outcome.of(Question(text, relevant, "history"), searcher.on(day).search(Query(text, top_k=K)))
                for day, text, relevant in questions]
    summary = summarize(outcomes, {})
    overall, abstention = summary["overall"], summary["abstention"]
    answerable = [o for o in outcomes if o.question.relevant]
    no_answer = [o for o in outcomes if not o.question.relevant]
    return {"questions": len(outcomes), "answerable": len(answerable), "out_of_kb": len(no_answer),
            "r@1": overall.get("recall@1"), "r@3": overall.get("recall@3"), "mrr@10": overall.get(f"mrr@{K}"),
            "false_abstention": round(sum(not o.confident and o.ranked[:1] and o.ranked[0] in o.question.relevant
                                          for o in answerable) / max(len(answerable), 1), 4),
            "out_of_kb_unconfident": round(sum(not o.confident for o in no_answer) / len(no_answer), 4)
            if no_answer else None, "abstention": abstention}


def run(kb: Path, chats: Path, split: dt.date, config: cfg.Config, work: Path) -> dict:
    from indexer.build import build
    from indexer.embed import create_embedder
    from indexer.learned import FOLDER
    from indexer.store import load_index
    from learn.align import Settings
    from learn.exports import read_exports
    from learn.importer import import_sessions
    from retrieval import QueryEncoder, Searcher
    from assist.train import trainers_for

    embedder = create_embedder(config)
    copy = work / "kb"
    shutil.copytree(kb, copy, ignore=shutil.ignore_patterns(FOLDER))
    root = work / "index"

    def searcher() -> Searcher:
        build(copy, root, embedder, config, trainers=trainers_for(config))
        return Searcher(load_index(root, embedder.id, embedder.dim), QueryEncoder(embedder, 4096), config)

    plain = searcher()
    settings = Settings(config.align_min_evidence, config.align_question_rank, config.align_unanswered_below)
    imported = import_sessions(copy, read_exports([chats]).sessions, plain, settings, before=split)
    learned = searcher()
    questions = questions_of(chats)
    later = [q for q in questions if q[0] >= split]
    past = [q for q in questions if q[0] < split]
    used = len(learned.index.phrasings) - len(plain.index.phrasings)
    return {"kb": str(kb), "chats": str(chats), "split": split.isoformat(), "import": imported.summary(),
            "learned_phrasings_used": used, "learned_min_support": config.learned_min_support,
            "later": {"kb_only": measure(plain, later), "learned": measure(learned, later)},
            "past_in_sample": {"kb_only": measure(plain, past), "learned": measure(learned, past)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.timesplit", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, type=Path, help="the shop's KB folder (its _learned/ is ignored)")
    parser.add_argument("--chats", required=True, type=Path, help="a labelled history (sessions.jsonl)")
    parser.add_argument("--split", required=True, type=dt.date.fromisoformat,
                        help="learn from sessions before this day, measure on questions from it on")
    parser.add_argument("--json", action="store_true", help="print JSON")
    cfg.add_arguments(parser, SETTINGS)
    args = parser.parse_args(argv)
    config = cfg.load(cfg.overrides_from(args, SETTINGS))
    with tempfile.TemporaryDirectory(prefix="kbs-timesplit-") as work:
        result = run(args.kb, args.chats, args.split, config, Path(work))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(f"{result['kb']}: learn before {result['split']}, measure after; {result['import']}")
    print(f"learned wordings used by the build: {result['learned_phrasings_used']} "
          f"(learned_min_support={result['learned_min_support']})")
    columns = ("r@1", "r@3", "mrr@10", "false_abstention", "out_of_kb_unconfident")
    print(f"{'':28}" + "".join(f"{c:>22}" for c in columns) + f"{'n':>6}")
    for period, name in (("later", "after split (out of sample)"), ("past_in_sample", "before split (in sample)")):
        for arm in ("kb_only", "learned"):
            row = result[period][arm]
            cells = "".join(f"{row[c] if row[c] is not None else '-':>22}" for c in columns)
            print(f"{name[:18]:18} {arm:9}" + cells + f"{row['questions']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
