"""Whether the top suggestion is worth sending: its evidence, compared with a threshold."""
from __future__ import annotations

from core.arms import DENSE, QUESTIONS
from core.config import Config
from indexer.pinyin import has_han

from .catalog import Catalog
from .types import Suggestion


def evidence(suggestions: tuple[Suggestion, ...], text: str, catalog: Catalog, config: Config) -> float:
    """The mean of the top article's best cosine to a section and to a known phrasing (when it has
    phrasings), plus an offset for questions in another script than the KB's. See README, Confidence."""
    if not suggestions:
        return 0.0
    top = suggestions[0]
    signals = [top.scores[DENSE]]
    if catalog.phrasings_of.get(top.article_id):
        signals.append(top.scores[QUESTIONS])
    value = sum(signals) / len(signals)
    if not has_han(text):
        value += config.cross_lingual_offset
    return round(value, 4)


def is_confident(suggestions: tuple[Suggestion, ...], value: float, config: Config) -> bool:
    return bool(suggestions) and value >= config.confidence_threshold and not suggestions[0].expired
