"""Personal data out of customers' messages before they are stored: mobile numbers keep their first
3 and last 4 digits (``138****5678``, enough to tell two customers apart in a report, not to call
them); ID-card, order and tracking numbers, landlines, e-mail addresses and street addresses
become placeholders. Full-width digits and letters (a Chinese IME's full-width mode: ``１３８…``) are
matched like ASCII; the text around a match stays as typed. Hostile text stays linear: every pattern is
bounded, or (a digit run) can start only where a run starts."""
from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,10}")
# 6-digit region, birth date (19xx/20xx, month, day), 3-digit sequence, check digit
ID_CARD = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                     r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")
LANDLINE = re.compile(r"(?<![0-9])(?:0[0-9]{2,3}-[0-9]{7,8}|400-?[0-9]{3}-?[0-9]{4})(?![0-9])")
# Douyin order numbers are 19 digits; tracking numbers carry a courier prefix (SF, YT, JT, DY…)
# (a run of more digits is one or more numbers typed together: masked whole)
ORDER = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,4}-?[0-9]{8,}|[0-9]{11,})(?![0-9])")
_NUM = r"[0-9一二三四五六七八九十百零〇]{1,6}"
_PLACE = r"[^\s0-9，。、,.：:；;！？!?（）()“”\"'在到是址往送寄住的我你他她了把给]{1,12}"
_UNIT = rf"(?:[A-Za-z\u4e00-\u9fff]{{0,8}}?[-－—]?{_NUM}(?:号楼|号院|栋|幢|座|单元|层|楼|室|号|户))"  # SOHO现代城5号楼
ADDRESS = re.compile(
    rf"(?:{_PLACE}(?:路|街|大道|巷|弄|胡同|里){_NUM}号{_UNIT}{{0,4}}"      # 建设路100号3栋2单元501室
    rf"|{_PLACE}(?:小区|花园|公寓|家园|新村|苑|大厦|广场){_UNIT}{{0,4}}"    # 阳光小区 5 栋 …
    rf"|{_NUM}(?:号楼|栋|幢|座){_UNIT}{{1,3}})")                          # 3栋2单元501室 on its own

PLACEHOLDERS = {"email": "[邮箱]", "id_card": "[身份证号]", "landline": "[电话]", "order": "[单号]",
                "address": "[地址]"}


def _mobile(match: re.Match) -> str:
    return f"{match.group(1)}****{match.group(3)}"


# Order matters: an ID card is also a long digit run, and an e-mail may hold a phone number.
STEPS = ((EMAIL, PLACEHOLDERS["email"]), (ID_CARD, PLACEHOLDERS["id_card"]), (MOBILE, _mobile),
         (LANDLINE, PLACEHOLDERS["landline"]), (ORDER, PLACEHOLDERS["order"]), (ADDRESS, PLACEHOLDERS["address"]))
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # ！…～ → !…~, one character for one


def mask(text: str) -> str:
    """The message with personal data masked; everything else untouched."""
    folded = text.translate(_HALF_WIDTH)
    if folded == text:
        for pattern, replacement in STEPS:
            text = pattern.sub(replacement, text)
        return text
    # match on the half-width text, keep the original between matches: both stay aligned, since the fold
    # maps one character to one and a replacement goes into both
    for pattern, replacement in STEPS:
        kept, seen, last = [], [], 0
        for match in pattern.finditer(folded):
            new = match.expand(replacement) if isinstance(replacement, str) else replacement(match)
            kept += [text[last:match.start()], new]
            seen += [folded[last:match.start()], new]
            last = match.end()
        text, folded = "".join(kept) + text[last:], "".join(seen) + folded[last:]
    return text
