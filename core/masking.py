"""Personal data out of customers' messages before they are stored or shown: one function, ``mask``,
for the query log, the feedback table, both exports, the report and imported chat histories.

What it does (docs/operators.md has the table, tests/test_masking.py a test for every row):

- control characters (ESC, BEL, NUL…) and bidirectional overrides are removed first;
- a number is found the way people type it: digits in groups separated by spaces, dashes or dots,
  full-width digits (a Chinese IME's full-width mode), zero-width characters between digits, digits
  read out in Chinese (``一三八…``, ``幺``), a ``+86`` in front; each number is then told by its checks:
  a resident ID by its GB 11643 structure and a birth date that exists (``python-stdnum``), a bank card by the Luhn
  digit and an issuer prefix (``python-stdnum``), a mobile or landline by libphonenumber
  (``phonenumbers``); any other run of 11 or more digits is an order or tracking number;
- mobile numbers keep their first 3 and last 4 digits (``138****5678``: enough to tell two customers
  apart in a report, not to call them); the rest become placeholders (``[身份证号]``, ``[卡号]``…);
- WeChat and QQ ids after their keywords (``微信``, ``vx``, ``QQ``…), e-mail and street addresses.

Matching runs on a folded copy whose every character stands for one of the original (full-width →
ASCII, Chinese digit → digit, invisible → space), so the text between matches stays exactly as typed.
Digits read out in Chinese are a one-to-one map, not ``cn2an``: cn2an converts positional numerals
(``一百二十三`` → 123), which carry no personal data, and changes the text's length. Hostile text
stays linear: every pattern is bounded or can start only where a run starts.
"""
from __future__ import annotations

import re
from typing import Callable

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

PLACEHOLDERS = {"email": "[邮箱]", "id_card": "[身份证号]", "card": "[卡号]", "landline": "[电话]",
                "order": "[单号]", "address": "[地址]", "wechat": "[微信号]", "qq": "[QQ号]"}

# C0/C1 controls but tab and newline, DEL, and the bidirectional embeddings/overrides/isolates
# (they reorder what an editor sees in an export: "Trojan source")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # ！…～ → !…~, one character for one
_FOLD.update({ord(c): ord(d) for c, d in zip("〇零一二三四五六七八九幺两", "0012345678912")})
_FOLD.update({code: 0x20 for code in (0x3000, 0x00A0, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)})
_FOLD.update({code: ord("-") for code in range(0x2010, 0x2016)})  # ‐ ‑ ‒ – — ―

EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,10}")
_SAID = r"号?(?:[ \t:=是为]|码){0,3}"  # 微信号: / 微信是 / QQ号码
WECHAT = re.compile(rf"(?:微信|薇信|威信|(?<![A-Za-z])(?:[Vv]信|[Vv][Xx]|[Ww][Xx]|weixin|[Ww]e[Cc]hat)){_SAID}"
                    r"([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])")
QQ = re.compile(rf"(?:扣扣|企鹅|(?<![A-Za-z])[Qq]{{2}}){_SAID}([1-9][0-9]{{4,11}})(?![0-9])")
# a courier's or platform's prefix and 8+ digits (SF1402837465921, DY2026…)
TRACKING = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,4}-?[0-9]{8,}(?![0-9])")
# digits in groups: 1–3 separators between groups, an optional + in front and X at the end (a resident ID)
NUMBER = re.compile(r"(?<![0-9])\+?[0-9]+(?:[ .\-]{1,3}[0-9]+)*(?:[Xx](?![A-Za-z]))?")
_NUM = r"[0-9一二三四五六七八九十百零〇]{1,6}"
_PLACE = r"[^\s0-9，。、,.：:；;！？!?（）()“”\"'在到是址往送寄住的我你他她了把给]{1,12}"
_UNIT = rf"(?:[A-Za-z\u4e00-\u9fff]{{0,8}}?[-－—]?{_NUM}(?:号楼|号院|栋|幢|座|单元|层|楼|室|号|户))"  # SOHO现代城5号楼
ADDRESS = re.compile(
    rf"(?:{_PLACE}(?:路|街|大道|巷|弄|胡同|里){_NUM}号{_UNIT}{{0,4}}"      # 建设路100号3栋2单元501室
    rf"|{_PLACE}(?:小区|花园|公寓|家园|新村|苑|大厦|广场){_UNIT}{{0,4}}"    # 阳光小区 5 栋 …
    rf"|{_NUM}(?:号楼|栋|幢|座){_UNIT}{{1,3}})")                          # 3栋2单元501室 on its own

CARD_ISSUER = re.compile(r"4|5[1-5]|2[2-7]|3[47]|35|6[025]")  # Visa, Mastercard, Amex, JCB, UnionPay/Discover
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_TYPES = {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
                phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.SHARED_COST,
                phonenumbers.PhoneNumberType.VOIP, phonenumbers.PhoneNumberType.UAN}


def _mobile(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}"


def _is_resident_id(digits: str) -> bool:
    """GB 11643: a region, a birth date that exists (stdnum's), a sequence and a check digit; a wrong check digit
    is still an ID (a typo, or one made up to test us). The region is not looked up: stdnum's table lacks some
    codes (and raised KeyError on them), and a new county's ID must still be masked as one."""
    if digits[0] == "0":
        return False
    try:
        ric.get_birth_date(digits)
    except (ValidationError, ValueError):
        return False
    return True


def _is_landline(digits: str) -> bool:
    """A Chinese landline or service number (trunk 0, or 400/800), by libphonenumber's metadata."""
    if not (digits.startswith("0") or digits[:3] in ("400", "800")):
        return False  # without the trunk 0 a date or a price run would parse as a local number
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _PHONE_TYPES


def classify(number: str) -> str | None:
    """The mask for a number as typed (separators, +86 allowed), or None for one that is no one's data."""
    digits = re.sub(r"[^0-9Xx]", "", number).upper()
    if number.lstrip().startswith("+") or (len(digits) == 13 and digits.startswith("86")):
        if digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
            return _mobile(digits[2:])
    if digits.endswith("X"):
        return PLACEHOLDERS["id_card"] if len(digits) == 18 and _is_resident_id(digits) else None
    if len(digits) < 7:
        return None
    if len(digits) == 18 and _is_resident_id(digits):
        return PLACEHOLDERS["id_card"]
    if _MOBILE.fullmatch(digits):
        return _mobile(digits)
    if 13 <= len(digits) <= 19 and CARD_ISSUER.match(digits) and luhn.is_valid(digits):
        return PLACEHOLDERS["card"]
    if _is_landline(digits):
        return PLACEHOLDERS["landline"]
    return PLACEHOLDERS["order"] if len(digits) >= 11 else None


Replace = Callable[[re.Match, str], str]  # (match on the folded text, the original it covers) → new text


def _keep_keyword(placeholder: str) -> Replace:
    return lambda match, original: original[:match.start(1) - match.start()] + placeholder


def _number(match: re.Match, original: str) -> str:
    masked = classify(match.group())
    return original if masked is None else masked


STEPS: tuple[tuple[re.Pattern, Replace], ...] = (
    (EMAIL, lambda m, o: PLACEHOLDERS["email"]),  # first: an e-mail may hold a phone number
    (WECHAT, _keep_keyword(PLACEHOLDERS["wechat"])),
    (QQ, _keep_keyword(PLACEHOLDERS["qq"])),
    (TRACKING, lambda m, o: PLACEHOLDERS["order"]),
    (NUMBER, _number),
    (ADDRESS, lambda m, o: PLACEHOLDERS["address"]),
)


def _apply(text: str, folded: str, spans: list[tuple[int, int, str]]) -> tuple[str, str]:
    """Put each (start, end, new) into both texts; they stay aligned as a replacement goes into both."""
    kept, seen, last = [], [], 0
    for start, end, new in spans:
        kept += [text[last:start], new]
        seen += [folded[last:start], new.translate(_FOLD)]
        last = end
    return "".join(kept) + text[last:], "".join(seen) + folded[last:]


def _phones(text: str, folded: str) -> tuple[str, str]:
    """What the steps did not catch, libphonenumber's matcher finds: (0571) 8888 6666, +86 (139) …"""
    if sum(c.isdigit() for c in folded) < 7:
        return text, folded
    spans = []
    for found in phonenumbers.PhoneNumberMatcher(folded, "CN", leniency=phonenumbers.Leniency.VALID):
        national = str(found.number.national_number)
        new = _mobile(national) if _MOBILE.fullmatch(national) else PLACEHOLDERS["landline"]
        spans.append((found.start, found.end, new))
    return _apply(text, folded, spans) if spans else (text, folded)


def mask(text: str) -> str:
    """The message with control characters removed and personal data masked; everything else as typed.
    Idempotent: a masked text masks to itself."""
    text = CONTROL.sub("", text)
    folded = text.translate(_FOLD)
    for pattern, replace in STEPS:
        spans = [(m.start(), m.end(), replace(m, text[m.start():m.end()])) for m in pattern.finditer(folded)]
        if spans:
            text, folded = _apply(text, folded, spans)
    return _phones(text, folded)[0]
