"""Charts as inline SVG with presentation attributes only: no script, no style attribute, nothing
fetched, so they pass the server's strict CSP and show in a report opened from disk, offline."""
from __future__ import annotations

from html import escape
from typing import Sequence

from .hotspots import Tally

TOTAL, ANGRY, URGENT, AXIS, INK = "#9db9d8", "#d9534f", "#f0a030", "#c8c8c8", "#333333"
FONT = 'font-family="sans-serif" font-size="12"'
MAX_DAY_LABELS = 12


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}">'
            f"<title>{escape(tip)}</title></rect>")


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = INK) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" {FONT}>{escape(text)}</text>'


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for color, name in items:
        out += [f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>', _text(x + 14, y, name)]
        x += 14 + 8 * len(name) + 16
    return out


def _day_label(n: int, days: int, x: float, y: float, day: str) -> str:
    """MM-DD under a day's column; on a long period every few days only, so that labels do not overlap."""
    return _text(x, y, day[5:], "middle") if n % -(-days // MAX_DAY_LABELS) == 0 else ""


def intent_bars(tallies: Sequence[Tally], width: int = 500) -> str:
    """One horizontal bar per intent, its angry messages in red from the left."""
    row, left, right = 24, 90, 120
    height = 30 + row * len(tallies)
    top = max((t.questions for t in tallies), default=0) or 1
    scale = (width - left - right) / top
    body = _legend(left, 14, ((TOTAL, "questions"), (ANGRY, "angry")))
    for n, t in enumerate(tallies):
        y = 24 + n * row
        body += [_text(left - 6, y + 14, t.label, "end"),
                 _rect(left, y + 2, t.questions * scale, row - 6, TOTAL, f"{t.label}: {t.questions} questions"),
                 _rect(left, y + 2, t.angry * scale, row - 6, ANGRY, f"{t.label}: {t.angry} angry"),
                 _text(left + t.questions * scale + 6, y + 14, f"{t.questions} ({t.angry} angry)")]
    return _svg(width, height, "Questions per intent, angry ones in red", body)


def day_columns(tallies: Sequence[Tally], width: int = 500, height: int = 220) -> str:
    """Questions per day as columns, the angry ones in red at the foot."""
    left, bottom, top_pad = 40, 36, 28
    inner = height - bottom - top_pad
    top = max((t.questions for t in tallies), default=0) or 1
    step = (width - left - 10) / max(len(tallies), 1)
    body = _legend(left, 14, ((TOTAL, "questions"), (ANGRY, "angry")))
    body.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{AXIS}"/>')
    for n, t in enumerate(tallies):
        x, h, angry = left + n * step + step * 0.15, inner * t.questions / top, inner * t.angry / top
        body += [_rect(x, height - bottom - h, step * 0.7, h, TOTAL, f"{t.label}: {t.questions} questions"),
                 _rect(x, height - bottom - angry, step * 0.7, angry, ANGRY, f"{t.label}: {t.angry} angry"),
                 _text(x + step * 0.35, height - bottom - h - 4, str(t.questions), "middle"),
                 _day_label(n, len(tallies), x + step * 0.35, height - bottom + 16, t.label)]
    return _svg(width, height, "Questions per day, angry ones in red", body)


def share_lines(tallies: Sequence[Tally], width: int = 500, height: int = 220) -> str:
    """Share of urgent and of angry messages per day (0–100%), days without labels left out."""
    left, bottom, top_pad = 40, 30, 28
    inner = height - bottom - top_pad
    step = (width - left - 10) / max(len(tallies), 1)
    body = _legend(left, 14, ((URGENT, "urgent"), (ANGRY, "angry")))
    for pct in (0, 50, 100):
        y = height - bottom - inner * pct / 100
        body += [f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{AXIS}"/>',
                 _text(left - 4, y + 4, f"{pct}%", "end")]
    for color, of in ((URGENT, lambda t: t.urgent_share), (ANGRY, lambda t: t.angry_share)):
        points = [(left + n * step + step / 2, height - bottom - inner * of(t), t) for n, t in enumerate(tallies)
                  if of(t) is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(t.label)}: '
                 f"{of(t) * 100:.1f}%</title></circle>" for x, y, t in points]
    body += [_day_label(n, len(tallies), left + n * step + step / 2, height - bottom + 16, t.label)
             for n, t in enumerate(tallies)]
    return _svg(width, height, "Share of urgent and angry messages per day", body)
