"""What an agent does with the server's answer, for the replay demo: copy it, 👍 or 👎 it, report a gap.

The odds are plausible guesses, not measurements (no shop's figures were at hand); what matters is
that they follow the answer's quality, which the labelled sets let us judge: a right first suggestion
is copied often, a wrong one gets 👎 now and then, an out-of-scope question with no confident answer
is reported as a gap, an unlabelled message is judged by the server's own confidence.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .traffic import Seed

# probabilities per situation
RIGHT_FIRST = {"copy_confident": 0.55, "copy_unsure": 0.35, "up": 0.10}
RIGHT_LOWER = {"copy": 0.40, "down_first": 0.20}
WRONG = {"down": 0.35, "gap": 0.25}
OUT_OF_SCOPE = {"down": 0.30, "gap": 0.30}
UNLABELLED = {"copy_confident": 0.45, "up": 0.08, "down": 0.04, "gap_unsure": 0.20, "copy_unsure": 0.10}


@dataclass(frozen=True)
class AgentAction:
    action: str  # up, down, copy, gap
    article_id: str | None
    delay_s: float  # after the question


def react(seed: Seed, top_ids: list[str], confident: bool, rng: random.Random) -> list[AgentAction]:
    events: list[tuple[str, str | None]] = []

    def maybe(p: float, action: str, article: str | None) -> None:
        if rng.random() < p and (article or action == "gap"):
            events.append((action, article))

    first = top_ids[0] if top_ids else None
    if seed.relevant is None:
        if confident:
            maybe(UNLABELLED["copy_confident"], "copy", first)
            maybe(UNLABELLED["up"], "up", first)
            maybe(UNLABELLED["down"], "down", first)
        else:
            maybe(UNLABELLED["gap_unsure"], "gap", None)
            maybe(UNLABELLED["copy_unsure"], "copy", first)
    elif not seed.relevant:
        if confident:
            maybe(OUT_OF_SCOPE["down"], "down", first)
        else:
            maybe(OUT_OF_SCOPE["gap"], "gap", None)
    else:
        hit = next((i for i, a in enumerate(top_ids[:3]) if a in seed.relevant), None)
        if hit == 0:
            maybe(RIGHT_FIRST["copy_confident" if confident else "copy_unsure"], "copy", first)
            maybe(RIGHT_FIRST["up"], "up", first)
        elif hit is not None:
            maybe(RIGHT_LOWER["copy"], "copy", top_ids[hit])
            maybe(RIGHT_LOWER["down_first"], "down", first)
        else:
            maybe(WRONG["down"], "down", first)
            maybe(WRONG["gap"], "gap", None)
    return [AgentAction(action, article, rng.uniform(5, 90)) for action, article in events]
