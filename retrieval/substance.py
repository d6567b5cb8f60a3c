"""Whether a message has anything to look up: text that no article can answer is never confident.

Embeddings put every string somewhere, and e5 finds ``。。。？？？`` or ``😀😀😀`` as near to an
article as a real question (0.99 and 0.94 confident before this rule). A message with nothing
visible in it (zero-width characters, a BOM, an ideographic space) is no question at all: the server
refuses it as empty. One with no word in it (punctuation, emoji, digits alone, a lone Latin letter)
or only a greeting (``你好``, ``在吗``, ``hello``) is answered, since triage still reads its emotion
(``？？？`` is impatience), but never confidently, and the answer says why.
"""
from __future__ import annotations

import re
import unicodedata

from indexer.pinyin import has_han

NO_WORDS, GREETING = "no_words", "greeting"
# besides whitespace and the format characters (Cf: zero-width, BOM, bidi marks, soft hyphen):
# the blank characters some apps pad messages with (Hangul fillers, braille blank)
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_WORD = re.compile(r"[^\W\d_]{2,}")  # two letters in a row, of any script: Han is looked at apart
_GREETINGS = re.compile(
    r"亲爱的|亲亲|亲|你好|您好|哈喽|哈啰|嗨|在吗|在不在|在么|在嘛|在|有人吗|有人在吗|有人|人呢|客服|老板|掌柜|店家|"
    r"早上好|中午好|下午好|晚上好|早安|晚安|早|谢谢|多谢|感谢|好的|好滴|好|嗯嗯|嗯|哦|噢|喔|啊|呀|哈|"
    r"hello|hallo|hi|hey|hiya|thanks|thank you|thx|ok|okay|yes|no", re.IGNORECASE)
_FILLER = re.compile(r"[\W_]+")  # punctuation, emoji, symbols, spaces between the greeting words


def visible(text: str) -> str:
    """The text without the characters that show nothing."""
    return "".join(c for c in text if not (c.isspace() or c in _BLANKS or unicodedata.category(c) == "Cf"))


def lacking(text: str) -> str | None:
    """Why the text cannot be a question a KB answers (``no_words`` or ``greeting``), or None."""
    shown = visible(text)
    if not has_han(shown) and not _WORD.search(shown):
        return NO_WORDS
    if not _FILLER.sub("", _GREETINGS.sub("", shown)):
        return GREETING
    return None
