"""KB gaps, the editors' to-do list: groups of questions the KB did not answer well, largest first.

A question counts when the service had no confident answer (``confident: false`` in the query log) and
did not find it out of scope (招聘, 加盟…: no article should answer it, so no article is missing), or when
an agent said so: 👎 on a suggestion (``down``) or 知识库缺口 (``gap``). Each event counts
once, so a question that got no confident answer *and* a gap report weighs twice: both say the same.
"""
from __future__ import annotations

from dataclasses import dataclass

from .embedding import QuestionVectors
from .groups import group_questions, most_common
from .load import Asked, Reaction

SHOWN = 20  # gaps in the HTML and Markdown; the CSV has them all


@dataclass(frozen=True)
class Gap:
    size: int  # signals: unconfident + down + gap
    unconfident: int
    down: int
    gap: int
    examples: tuple[str, ...]
    article_id: str | None  # the article most often suggested first, or rejected, for these questions


def kb_gaps(asked: tuple[Asked, ...], reactions: tuple[Reaction, ...], vectors: QuestionVectors,
            similarity: float) -> tuple[Gap, ...]:
    signals = [(a.question, "unconfident", a.top_ids[0] if a.top_ids else None) for a in asked
               if not a.confident and not a.out_of_scope]
    signals += [(r.question, r.action, r.article_id) for r in reactions if r.action in ("down", "gap")]
    gaps = []
    for group in group_questions([s[0] for s in signals], vectors, similarity):
        kinds = [signals[i][1] for i in group.members]
        article, _ = most_common(signals[i][2] for i in group.members)
        gaps.append(Gap(len(kinds), kinds.count("unconfident"), kinds.count("down"), kinds.count("gap"),
                        group.examples, article))
    return tuple(gaps)
