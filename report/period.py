"""The period a report covers: whole days of the shop's time zone, turned into the UTC bounds the logs store."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_DAYS = 7  # a weekly report when no end is given


class PeriodError(ValueError):
    """The dates asked for do not make a period (the CLI's exit 2, the server's 400)."""


@dataclass(frozen=True)
class Period:
    """``since`` the first day, ``until`` the day after the last (exclusive, like the logs' ``until``)."""

    since: dt.date
    until: dt.date
    utc_offset_hours: float

    @property
    def zone(self) -> dt.timezone:
        return shop_zone(self.utc_offset_hours)

    def bounds(self) -> tuple[str, str]:
        """ISO 8601 UTC text for ``rows(since, until)``: ``at`` compares as text, second precision."""
        return tuple(dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.timezone.utc)
                     .isoformat(timespec="seconds") for day in (self.since, self.until))

    @property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(self.since + dt.timedelta(days=n) for n in range((self.until - self.since).days))

    def day_of(self, at: str) -> dt.date:
        """The shop's day of a stored UTC time."""
        return dt.datetime.fromisoformat(at).astimezone(self.zone).date()

    @property
    def label(self) -> str:
        last = self.until - dt.timedelta(days=1)
        return self.since.isoformat() if last == self.since else f"{self.since.isoformat()} – {last.isoformat()}"


def shop_zone(utc_offset_hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=utc_offset_hours))


def shop_today(utc_offset_hours: float) -> dt.date:
    """Today in the shop's time zone (not the machine's)."""
    return dt.datetime.now(shop_zone(utc_offset_hours)).date()


def date_or_today(text: str | None, name: str, utc_offset_hours: float) -> dt.date:
    """A date given on a command line, or the shop's today."""
    return parse_date(text, name) if text else shop_today(utc_offset_hours)


def parse_date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise PeriodError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_period(since: str, until: str | None, utc_offset_hours: float, max_days: int | None = None) -> Period:
    """``until`` defaults to a week after ``since``; refuses an empty or reversed period and,
    with ``max_days``, a longer one."""
    first = parse_date(since, "since")
    try:
        end = parse_date(until, "until") if until else first + dt.timedelta(days=DEFAULT_DAYS)
        if end <= first:
            raise PeriodError(f"until ({end}) must come after since ({first}); until is the day after the last one")
        if max_days is not None and (end - first).days > max_days:
            raise PeriodError(f"the period has {(end - first).days} days; at most {max_days} (setting report_max_days)")
        period = Period(first, end, utc_offset_hours)
        period.bounds()  # 0001-01-01 in a zone east of UTC begins in year 0, which Python has not
    except OverflowError:
        raise PeriodError(f"a period from {first} reaches outside the years 1 to 9999") from None
    return period
