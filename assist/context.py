"""The earlier turns of a conversation: what a short follow-up leaves out, how many rounds the customer has spent
on the open topic, and whether the customer's emotion is escalating."""
from __future__ import annotations

from retrieval.catalog import Catalog
from retrieval.products import products_in

from .model import TriageModel, clean
from .types import Turn

HEAT = {"angry": 2, "anxious": 1}  # emotions that can escalate; the others count 0
MAX_CARRIED_CHARS = 60


def customer_texts(turns: tuple[Turn, ...]) -> list[str]:
    return [t.text for t in turns if t.role == "customer" and t.text.strip()]


def is_followup(model: TriageModel, text: str, max_chars: int) -> bool:
    """Short, or shaped like a follow-up (那…, …呢, 也是…): it needs the earlier turns to be understood."""
    text = clean(text)
    return len(text) <= max_chars or model.flat["followup"].total(text) > 0


def _substantive(model: TriageModel, text: str) -> bool:
    """A turn that states a topic: not only a push (人呢？？), nor a closing 好的/谢谢."""
    text = clean(text)
    return model.flat["push"].total(text) <= 0 and model.flat["closure"].total(text) <= 0 and len(text) >= 2


def carry_over(model: TriageModel, catalog: Catalog, text: str, earlier: list[str],
               max_chars: int) -> tuple[str, tuple[str, ...]]:
    """(text retrieval should run on, what was carried over). Each earlier customer turn is resolved in order,
    so a follow-up of a follow-up still finds the original topic. A follow-up that names its own product
    keeps the earlier topic but not the earlier product (那面霜呢 after 鲜花饼保质期多久 → 面霜 + 保质期多久)."""
    thread = topic(model, catalog, earlier, max_chars)
    if not thread or not is_followup(model, text, max_chars) or model.flat["closure"].total(clean(text)) > 0:
        return text, ()  # 好的 谢谢 closes the topic: nothing to carry over
    return _resolve(model, catalog, text, thread, max_chars)


def topic(model: TriageModel, catalog: Catalog, earlier: list[str], max_chars: int) -> str:
    """The conversation's open topic: the last earlier customer turn that names one, its own follow-ups resolved
    (an address or 照片发你了 names none)."""
    thread = ""
    for turn in earlier:
        if _substantive(model, turn) and (not thread or _names_topic(model, catalog, turn)):
            thread = _resolve(model, catalog, turn, thread, max_chars)[0]
    return thread


def _names_topic(model: TriageModel, catalog: Catalog, text: str) -> bool:
    """A turn with an intent cue or a product: it can open a thread. An address or 照片发你了 cannot."""
    return bool(model.intent_cues.scores(clean(text))) or bool(products_in(catalog, text, None))


def _resolve(model: TriageModel, catalog: Catalog, text: str, thread: str, max_chars: int) -> tuple[str, tuple]:
    if not thread or not is_followup(model, text, max_chars):
        return text, ()
    carried = thread
    if products_in(catalog, text, None):
        for product in products_in(catalog, thread, None):
            carried = carried.replace(product, " ")
    carried = " ".join(carried.split())[:MAX_CARRIED_CHARS]
    if not carried or carried in text:
        return text, ()
    return f"{text} {carried}", (carried,)


def thread(model: TriageModel, earlier: list[str], intent: str, message: str = "") -> list[str]:
    """The earlier customer turns on the current topic (oldest first), back to the last turn that closed a topic
    (好的/谢谢) or was about another topic; with this message they are its rounds. The topic is the cue intent of
    the message (or, for a bare push, of the nearest earlier turn with one; else ``intent``); pushes (在吗？？) and
    turns without a cue stay in, and so do turns whose cues are too weak (``topic_switch_cue``) to say the
    customer moved on (寄回去了 → 显示签收了), and turns about the channel (``topic_neutral``: 转人工) that
    push the same problem."""
    switch = float(model.taxonomy["handoff"].get("topic_switch_cue", 0.0))
    neutral = set(model.taxonomy["handoff"].get("topic_neutral") or ())
    topic = _cue_intent(model, clean(message)) if message else intent
    topic = None if topic in neutral else topic  # 转人工 after a leak pushes the leak: its thread is the leak's
    turns: list[str] = []
    for text in reversed(earlier):
        text = clean(text)
        if model.flat["closure"].total(text) > 0:
            break
        found = _cue_intent(model, text, switch)
        found = None if found in neutral else found  # 转人工 in the middle of a delay is still the delay
        if found is not None and topic is not None and found != topic:
            break
        topic = topic or found
        turns.append(text)
    return turns[::-1]


def _cue_intent(model: TriageModel, text: str, at_least: float = 0.0) -> str | None:
    """The intent an earlier turn's cue words point at (None for a push, or when no cue sums to ``at_least``)."""
    if model.flat["push"].total(text) > 0:
        return None
    scores = {label: score for label, (score, _) in model.intent_cues.scores(text).items() if score >= at_least}
    return max(scores, key=scores.get) if scores else None


def escalation(model: TriageModel, earlier: list[str], emotion: str, score: float) -> tuple[str, ...]:
    """The emotions of the last customer turns (oldest first) when they rise to this one, else ()."""
    if HEAT.get(emotion, 0) == 0 or not earlier:
        return ()
    scale = model.scoring.intensity_scale
    path, heats = [], []
    for text in earlier[-2:]:
        label, value = cue_emotion(model, text)
        path.append(label)
        heats.append(HEAT.get(label, 0) + min(value / scale, 0.99))
    now = HEAT[emotion] + min(score / scale, 0.99)
    if heats[-1] < now and int(now) > int(min(heats)) and all(a <= b for a, b in zip(heats, heats[1:])):
        return tuple(path) + (emotion,)
    return ()


def cue_emotion(model: TriageModel, text: str) -> tuple[str, float]:
    """The emotion of an earlier turn from its cue words alone (no embedding for earlier turns)."""
    scores = model.emotion_cues.scores(clean(text))
    prior = model.scoring.neutral_prior
    best = max(scores, key=lambda label: scores[label][0], default=None)
    if best is None or scores[best][0] < prior:
        return "neutral", 0.0
    return best, scores[best][0]
