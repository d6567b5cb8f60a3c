"""One call for the server and the eval: search (with the conversation's context) and triage the message."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from core.config import Config
from retrieval import Query, SearchResult, Searcher

from . import comfort as comfort_lines
from .context import carry_over, customer_texts, escalation, thread, topic
from .model import TriageModel
from .triage import triage
from .types import Comfort, Context, Triage, Turn


@dataclass(frozen=True)
class Answer:
    result: SearchResult
    triage: Triage | None  # None when the index has no triage data (a KB without _assist/)
    comfort: Comfort | None
    took_ms: float  # search and triage together


class Assistant:
    """The searcher of one index plus its compiled triage data."""

    def __init__(self, searcher: Searcher, config: Config):
        self.searcher = searcher
        self.config = config
        self.model = TriageModel.of_index(searcher.index)

    def answer(self, query: Query, conversation: tuple[Turn, ...] = (), with_triage: bool = True,
               deadline: float | None = None) -> Answer:
        started = time.perf_counter()
        earlier = customer_texts(conversation)
        search_text, carried = query.text, ()
        if self.model is not None and earlier:
            search_text, carried = carry_over(self.model, self.searcher.catalog, query.text, earlier,
                                              self.config.followup_max_chars)
        result = self.searcher.search(dataclasses.replace(query, text=search_text) if carried else query,
                                      deadline=deadline)
        if self.model is None or not with_triage:
            return Answer(result, None, None, (time.perf_counter() - started) * 1000.0)
        model = self.model
        # the intent reads the open topic for any message without a topic of its own, not only a short one
        # (搞什么 找半天都找不到 after 发票怎么开 is still about the invoice): triage.intent weighs it
        context_text = " ".join(carried) or (earlier and topic(model, self.searcher.catalog, earlier,
                                                                self.config.followup_max_chars)) or ""
        found = triage(model, query.text, result, Context(search_text, carried), context_text,
                       thread_of=lambda intent: thread(model, earlier, intent, query.text),
                       escalation_of=lambda emotion, score: escalation(model, earlier, emotion, score))
        return Answer(result, found, comfort_lines.choose(model, found), (time.perf_counter() - started) * 1000.0)

