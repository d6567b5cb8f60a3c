"""The one storage interface. The append-only tables (feedback, the query log) and the prune are written
once against ``Database``; its two implementations differ only in how they connect, in their DDL and
in their placeholders: ``SqliteDatabase`` (the default: one file per table, nothing to install) and
``PostgresDatabase`` (one database that every server replica shares).

Statements are written with ``?`` placeholders; PostgreSQL's sessions translate them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence
from urllib.parse import unquote, urlsplit, urlunsplit

READ_BATCH = 500  # rows per fetch: a table can outgrow memory


class StorageError(RuntimeError):
    """A database that cannot be opened or used; the message is one line and never holds a password."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "text", "integer" or "real": each backend names its own
    required: bool = False
    check: str = ""  # a CHECK expression, the same SQL on both backends

    def sql(self, types: dict[str, str]) -> str:
        """The column's definition in a backend's type names (``types``: "text" → its name)."""
        return (f"{self.name} {types[self.type]}{' NOT NULL' if self.required else ''}"
                f"{f' CHECK ({self.check})' if self.check else ''}")


@dataclass(frozen=True)
class Table:
    """An append-only table: each backend turns it into DDL with triggers refusing UPDATE and DELETE.
    A column added in a later version must be optional: ``create`` adds it to a table made before.
    A ``prunable`` table (it has an ``at`` column) lets a DELETE through only for rows older than a
    cutoff written into ``<name>_maintenance`` in the same transaction (see ``storage.querylog.prune``)."""

    name: str
    columns: tuple[Column, ...]  # besides ``id``, which the database assigns
    refusal: str  # the message of a refused change; contains "append-only"
    indexed: tuple[str, ...] = ()
    unique: str = ""  # the SQL expressions (same on both backends) no two rows may share, e.g. one vote each
    prunable: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return ("id", *(c.name for c in self.columns))

    def column_sql(self, types: dict[str, str]) -> str:
        return ", ".join(c.sql(types) for c in self.columns)

    def add_columns_sql(self, existing: set[str], types: dict[str, str]) -> list[str]:
        """The ``ALTER TABLE … ADD COLUMN`` statements that bring a table made by an older version (its columns:
        ``existing``) up to this one. Only optional columns can be added to a table that has rows: a required
        one missing is an error."""
        missing = [c for c in self.columns if c.name not in existing]
        required = [c.name for c in missing if c.required]
        if required:
            raise StorageError(f"table {self.name} lacks the required column(s) {', '.join(required)}: it was made "
                               "by an incompatible version; export it and move it aside")
        return [f"ALTER TABLE {self.name} ADD COLUMN {c.sql(types)}" for c in missing]

    def index_sql(self) -> list[str]:
        """The indexes, made after ``add_columns_sql`` so that a table from an older version gets them too."""
        t = self.name
        made = [f"CREATE INDEX IF NOT EXISTS {t}_{c} ON {t} ({c})" for c in self.indexed]
        if self.unique:
            made.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {t}_unique ON {t} ({self.unique})")
        return made

    @property
    def maintenance(self) -> str:
        return f"{self.name}_maintenance"

    @property
    def insert_sql(self) -> str:
        return (f"INSERT INTO {self.name} ({', '.join(c.name for c in self.columns)}) "
                f"VALUES ({', '.join('?' * len(self.columns))})")

    def select_sql(self, since: str | None, until: str | None) -> tuple[str, list[str]]:
        """Rows in id order; ``since``/``until`` bound ``at`` (ISO 8601 UTC text: since inclusive,
        until exclusive; text order is time order because every ``at`` has the same format)."""
        where, params = [], []
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if until is not None:
            where.append("at < ?")
            params.append(until)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return f"SELECT {', '.join(self.column_names)} FROM {self.name}{clause} ORDER BY id", params


def storable(row: Sequence[Any]) -> tuple:
    """PostgreSQL text cannot hold NUL: it becomes U+FFFD on both backends, so their rows stay the same."""
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)


class Session(Protocol):
    """Statements inside one transaction (``?`` placeholders)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...  # a cursor: fetchone(), rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


class Connection(Protocol):
    """A connection owned by one thread (the query log's writer keeps one)."""

    def transaction(self) -> AbstractContextManager[Session]: ...

    def close(self) -> None: ...


class Database(ABC):
    """Where the tables live. ``where`` names it in messages (a path, or the URL without its password);
    ``errors`` is what a failed statement or connection raises, ``integrity_errors`` the part of it that
    means a constraint refused the row (a second vote on the same suggestion)."""

    where: str
    errors: tuple[type[BaseException], ...]
    integrity_errors: tuple[type[BaseException], ...]
    returning_id = " RETURNING id"  # appended to an INSERT whose new id is wanted ("": the cursor's lastrowid)

    @abstractmethod
    def create(self, table: Table) -> None:
        """The table, its indexes and its append-only triggers; idempotent, safe from several replicas."""

    @abstractmethod
    def connect(self) -> Connection:
        """A connection of its own, for a thread that writes often."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Session]:
        """One short transaction (commit on success, rollback on error), from any thread."""

    @abstractmethod
    def rows(self, table: Table, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """``table``'s rows in ``column_names`` order and id order, read in batches; none if it does not
        exist yet."""

    def close(self) -> None:
        """Release what the database holds (PostgreSQL's pool)."""


def redact(url: str) -> str:
    """The URL with its password replaced by ***: what messages and logs may show."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = "&".join("password=***" if pair.split("=", 1)[0].lower() == "password" else pair
                     for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def one_line(exc: BaseException, url: str = "") -> str:
    """An exception's message on one line, any password from ``url`` replaced by ***."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    parts = urlsplit(url)
    secrets = [parts.password or ""] + [pair.split("=", 1)[1] for pair in parts.query.split("&")
                                        if pair.split("=", 1)[0].lower() == "password" and "=" in pair]
    for secret in filter(None, secrets):
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "***")
    return text
