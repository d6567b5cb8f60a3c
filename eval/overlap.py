"""``python -m eval.overlap``: how close each labeled question comes to the KB's own phrasings.

A question that nearly copies an article's title or one of its ``questions:``
lines measures string matching more than understanding. This lists the
near-copies and can write the set without the questions that come close, so the
harness can measure the remainder separately:

    python -m eval.overlap --kb kb --questions eval/questions/shipped.jsonl --keep-below 0.6 --write /tmp/far.jsonl
    python -m eval --kb kb --questions /tmp/far.jsonl

Similarity is difflib's ratio on normalized text (1.0 = identical); the scan is
every question against every phrasing, so it suits sets of hundreds, not ATEC.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from indexer.chunk import phrasings
from indexer.parse import parse_kb
from indexer.tokenize import normalize

from .harness import Question, QuestionSetError, load_questions


def kb_phrasings(kb: Path) -> list[str]:
    """The texts the questions arm matches against (titles and ``questions:``), normalized."""
    texts = (p.text for article in parse_kb(kb).articles for p in phrasings(article))
    return list(dict.fromkeys(normalize(t) for t in texts))


def nearest(question: str, phrasings: list[str]) -> tuple[float, str]:
    """The most similar phrasing and its similarity; (0.0, "") when there are none."""
    text = normalize(question)
    best = (0.0, "")
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(text)
    for phrasing in phrasings:
        matcher.set_seq1(phrasing)
        if matcher.real_quick_ratio() > best[0] and matcher.quick_ratio() > best[0]:
            best = max(best, (matcher.ratio(), phrasing))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.overlap", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="KB: a folder of Markdown articles or a .jsonl")
    parser.add_argument("--questions", required=True, help="the labeled question set (JSONL)")
    parser.add_argument("--threshold", type=float, default=0.8,
                        help="list questions at least this similar to a phrasing (default 0.8)")
    parser.add_argument("--keep-below", type=float,
                        help="with --write: keep only questions less similar than this to every phrasing")
    parser.add_argument("--write", help="write the kept questions here (JSONL); needs --keep-below")
    args = parser.parse_args(argv)
    if bool(args.write) != (args.keep_below is not None):
        parser.error("--write and --keep-below go together")
    try:
        phrasings = kb_phrasings(Path(args.kb))
        questions = load_questions(Path(args.questions))
    except (QuestionSetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scored = [(q, *nearest(q.q, phrasings)) for q in questions]
    close = sorted((s for s in scored if s[1] >= args.threshold), key=lambda s: -s[1])
    print(f"{len(close)} of {len(questions)} questions are ≥ {args.threshold} similar to a KB phrasing")
    for question, similarity, phrasing in close:
        print(f"  {similarity:.2f}  [{question.type}] {question.q}  ~  {phrasing}")
    if args.write:
        kept = [q for q, similarity, _ in scored if similarity < args.keep_below]
        Path(args.write).write_text("".join(_line(q) for q in kept), encoding="utf-8")
        print(f"wrote {len(kept)} questions below {args.keep_below} to {args.write}", file=sys.stderr)
    return 0


def _line(question: Question) -> str:
    row = {"q": question.q, "relevant": list(question.relevant), "type": question.type}
    return json.dumps(row, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
