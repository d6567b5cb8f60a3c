"""Read stage for a shop's exported chat history: JSONL or CSV/XLSX exports → masked ``Session`` records.

Shops export chats in many shapes: a session per JSON line (``{"session", "turns": [...]}``), a message per JSON
line, or a message per CSV/XLSX row (session id, sender role, content, time; optional order id, agent, message
type). Roles come as ``customer/agent``, ``0/1``, ``1/2``, ``user/admin/bot``…; times as ISO text, unix seconds
or milliseconds. HTML is stripped, images and stickers are skipped, consecutive messages of one speaker are
merged. Every text is masked (``core.masking.mask``) here, before anything else sees it, so no unmasked text
can reach the learned data on disk. A malformed row is reported as ``file:line`` and skipped; it never aborts the
import.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from core.masking import mask

CUSTOMER, AGENT = "customer", "agent"
# Sender encodings seen in exports. Numeric codes differ by platform: 0/1 and 1/2 both put the customer first.
ROLE_NAMES = {
    "customer": CUSTOMER, "buyer": CUSTOMER, "user": CUSTOMER, "client": CUSTOMER, "顾客": CUSTOMER, "买家": CUSTOMER,
    "客户": CUSTOMER, "用户": CUSTOMER, "消费者": CUSTOMER,
    "agent": AGENT, "staff": AGENT, "admin": AGENT, "seller": AGENT, "service": AGENT, "客服": AGENT, "商家": AGENT,
    "卖家": AGENT, "bot": AGENT, "robot": AGENT, "机器人": AGENT, "assistant": AGENT,
}
NUMERIC_ROLES = {"0/1": {"0": CUSTOMER, "1": AGENT}, "1/2": {"1": CUSTOMER, "2": AGENT}}
SKIPPED_TYPES = {"image", "img", "picture", "sticker", "emoji", "emoticon", "video", "audio", "voice", "file",
                 "card", "goods", "product", "order", "system", "图片", "表情", "视频", "语音", "文件", "商品卡片",
                 "订单卡片", "系统消息"}
PLACEHOLDER_TEXT = re.compile(r"^\s*\[(?:图片|表情|视频|语音|文件|image|sticker|动画表情)\]\s*$", re.IGNORECASE)
TAG = re.compile(r"<[^>]{0,2000}>")
# column names we recognise per field (lower-cased); --columns overrides
COLUMNS = {
    "session": ("session", "session_id", "sessionid", "conversation", "conversation_id", "chat_id", "会话id",
                "会话ID", "会话编号", "会话"),
    "role": ("role", "sender", "sender_role", "from", "speaker", "sender_type", "发送方", "角色", "发送者身份"),
    "text": ("text", "content", "message", "msg", "body", "内容", "消息内容", "消息"),
    "at": ("at", "time", "timestamp", "created_at", "send_time", "sent_at", "时间", "发送时间", "消息时间"),
    "order_id": ("order_id", "order", "orderid", "订单号", "订单编号"),
    "agent": ("agent", "agent_id", "staff", "客服", "客服账号", "客服昵称"),
    "type": ("type", "msg_type", "message_type", "content_type", "消息类型"),
}
FIELDS = tuple(COLUMNS)


class ChatFormatError(ValueError):
    """The file as a whole cannot be read (unknown columns, not a chat export)."""


@dataclass(frozen=True)
class Message:
    role: str  # CUSTOMER | AGENT
    at: dt.datetime  # aware
    text: str  # masked, HTML stripped, merged with the same speaker's following messages


@dataclass(frozen=True)
class Session:
    id: str  # as exported (masked: ids are sometimes phone numbers)
    messages: tuple[Message, ...]
    source: str  # file name, for the learned data's provenance

    @property
    def key(self) -> str:
        """What makes a re-import of the same session add nothing: its id and its first message's time."""
        first = self.messages[0].at.isoformat() if self.messages else ""
        return hashlib.sha256(f"{self.id}\0{first}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ReadResult:
    sessions: list[Session] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0  # messages read (usable or not)
    skipped_media: int = 0


@dataclass(frozen=True)
class Options:
    """How to read an export whose encoding the header cannot tell: a numeric role scheme, column names,
    the time zone of naive times (the shop's: China, +08:00)."""

    numeric_roles: str = "auto"  # "auto" | "0/1" | "1/2"
    columns: tuple[tuple[str, str], ...] = ()  # (field, column name) overrides
    utc_offset_hours: float = 8.0


def clean_text(raw) -> str:
    """HTML stripped and entities decoded, control characters dropped, whitespace collapsed, then masked."""
    text = html.unescape(TAG.sub(" ", str(raw)))
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return mask(re.sub(r"\s+", " ", text).strip())


def parse_time(raw, zone: dt.timezone) -> dt.datetime:
    """ISO text (naive = the shop's zone), unix seconds, or unix milliseconds."""
    if isinstance(raw, (int, float)) or (isinstance(raw, str) and re.fullmatch(r"\s*\d{9,13}(\.\d+)?\s*", raw)):
        value = float(raw)
        if value > 1e11:  # milliseconds: 1e11 s is the year 5138
            value /= 1000
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).astimezone(zone)
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("no time")
    text = raw.strip().replace("/", "-")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def parse_role(raw, scheme: str) -> str:
    value = str(raw).strip().lower()
    if value in ROLE_NAMES:
        return ROLE_NAMES[value]
    if value in ("0", "1", "2"):
        if scheme == "auto":
            raise ValueError(f"numeric role {value!r}: say which scheme with --numeric-roles 0/1 or 1/2")
        role = NUMERIC_ROLES[scheme].get(value)
        if role:
            return role
    raise ValueError(f"unknown sender role {raw!r} (expected customer/agent, user/admin/bot, 0/1 or 1/2)")


def _numeric_scheme(values: Iterable[str]) -> str:
    """0 present → 0/1; 2 present → 1/2; only 1s is ambiguous (then 'auto' stays and each row is refused)."""
    seen = {str(v).strip() for v in values}
    if "0" in seen and "2" not in seen:
        return "0/1"
    if "2" in seen and "0" not in seen:
        return "1/2"
    return "auto"


@dataclass
class _Row:
    line: int
    session: str
    role: str
    at: dt.datetime
    text: str
    order_id: str | None = None


def read_exports(paths: Iterable[Path], options: Options = Options()) -> ReadResult:
    result = ReadResult()
    for path in paths:
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            _read_jsonl(path, options, result)
        elif suffix in (".csv", ".tsv", ".txt"):
            _rows_to_sessions(path, _csv_records(path), options, result)
        elif suffix in (".xlsx", ".xlsm"):
            _rows_to_sessions(path, _xlsx_records(path), options, result)
        else:
            raise ChatFormatError(f"{path}: unknown export type {suffix!r} (expected .jsonl, .csv or .xlsx)")
    return result


def _zone(options: Options) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=options.utc_offset_hours))


def _read_jsonl(path: Path, options: Options, result: ReadResult) -> None:
    """A session per line (``turns``/``messages`` list) or a message per line (``session`` + role + text)."""
    loose: list[tuple[int, dict]] = []
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                result.problems.append(Problem(str(path), number, f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(record, dict):
                result.problems.append(Problem(str(path), number, "a line must be a JSON object"))
                continue
            turns = record.get("turns", record.get("messages"))
            if isinstance(turns, list):
                rows = []
                session_id = str(record.get("session", record.get("session_id", record.get("id", number))))
                for turn in turns:
                    loose_row = _row(number, {"session": session_id, **turn} if isinstance(turn, dict) else turn,
                                     options, result, path, _json_columns(turn if isinstance(turn, dict) else {}))
                    if loose_row:
                        rows.append(loose_row)
                result.rows += len(turns)
                _add_session(session_id, rows, path, result)
            else:
                loose.append((number, record))
    if loose:
        _rows_to_sessions(path, iter(loose), options, result, json_rows=True)


def _json_columns(record: dict) -> dict[str, str]:
    return {name: next((c for c in names if c in record), names[0]) for name, names in COLUMNS.items()}


def _csv_records(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(65536)
        handle.seek(0)
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" or sample.count("\t") > sample.count(",") else csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        for record in reader:
            yield reader.line_num, record


def _xlsx_records(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        import openpyxl
    except ImportError:
        raise ChatFormatError(f"{path}: reading .xlsx needs openpyxl: pip install 'kb-suggest[xlsx]' "
                              "(or save the sheet as CSV)") from None
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = book.active.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    for number, values in enumerate(rows, 2):
        yield number, {h: ("" if v is None else v) for h, v in zip(header, values)}
    book.close()


def _resolve_columns(header: Iterable[str], options: Options, path: Path) -> dict[str, str]:
    by_lower = {h.strip().lower(): h for h in header if h is not None}
    chosen = {}
    overrides = dict(options.columns)
    for name, names in COLUMNS.items():
        if name in overrides:
            if overrides[name].lower() not in by_lower:
                raise ChatFormatError(f"{path}: --columns {name}={overrides[name]}: no such column "
                                      f"(the header has: {', '.join(by_lower.values())})")
            chosen[name] = by_lower[overrides[name].lower()]
            continue
        found = next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)
        if found:
            chosen[name] = found
    missing = [n for n in ("session", "role", "text", "at") if n not in chosen]
    if missing:
        raise ChatFormatError(f"{path}: no column for {', '.join(missing)} (the header has: "
                              f"{', '.join(by_lower.values())}); name them with --columns "
                              + " ".join(f"{m}=<column>" for m in missing))
    return chosen


def _rows_to_sessions(path: Path, records: Iterator[tuple[int, dict]], options: Options, result: ReadResult,
                      json_rows: bool = False) -> None:
    records = list(records)
    if not records:
        return
    header = set().union(*(r.keys() for _, r in records)) if json_rows else records[0][1].keys()
    columns = _resolve_columns(header, options, path)
    if options.numeric_roles == "auto":
        options = Options(_numeric_scheme(r.get(columns["role"], "") for _, r in records), options.columns,
                          options.utc_offset_hours)
    sessions: dict[str, list[_Row]] = {}
    for number, record in records:
        result.rows += 1
        row = _row(number, record, options, result, path, columns)
        if row:
            sessions.setdefault(row.session, []).append(row)
    for session_id, rows in sessions.items():
        _add_session(session_id, rows, path, result)


def _row(number: int, record, options: Options, result: ReadResult, path: Path,
         columns: dict[str, str]) -> _Row | None:
    if not isinstance(record, dict):
        result.problems.append(Problem(str(path), number, "a message must be an object"))
        return None
    kind = str(record.get(columns.get("type", "type"), "") or "").strip().lower()
    raw_text = record.get(columns["text"])
    if kind in SKIPPED_TYPES or (isinstance(raw_text, str) and PLACEHOLDER_TEXT.match(raw_text)):
        result.skipped_media += 1
        return None
    try:
        role = parse_role(record.get(columns["role"], ""), options.numeric_roles)
        at = parse_time(record.get(columns["at"]), _zone(options))
    except ValueError as exc:
        result.problems.append(Problem(str(path), number, str(exc)))
        return None
    text = clean_text(raw_text) if raw_text is not None else ""
    if not text:
        result.skipped_media += 1  # an empty message: nothing to learn from
        return None
    session = str(record.get(columns["session"], "") or "").strip()
    if not session:
        result.problems.append(Problem(str(path), number, "no session id"))
        return None
    return _Row(number, session, role, at, text)


def _add_session(session_id: str, rows: list[_Row], path: Path, result: ReadResult) -> None:
    """Rows in time order (stable: same-second messages keep file order), one speaker's run merged."""
    rows = sorted(rows, key=lambda r: r.at)
    merged: list[Message] = []
    for row in rows:
        if merged and merged[-1].role == row.role:
            merged[-1] = Message(row.role, merged[-1].at, f"{merged[-1].text} {row.text}")
        else:
            merged.append(Message(row.role, row.at, row.text))
    if merged:
        result.sessions.append(Session(mask(session_id), tuple(merged), path.name))

