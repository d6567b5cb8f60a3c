"""What changed between two eval runs: metric deltas, and the questions that got better or worse.

Compares the ``report.json`` of an earlier ``python -m eval --out`` run with the
current result, configuration by configuration, matching questions by their text.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .harness import ABSTENTION_HEADLINE, RANKING_METRICS


@dataclass(frozen=True)
class Change:
    q: str
    before: str
    after: str
    worse: bool
    severity: float  # reciprocal-rank change, plus 0.5 for a flip of confident (1 on a no-answer question)


def _state(row: dict) -> str:
    if not row["answerable"]:
        return "confident" if row["confident"] else "abstains"
    rank = f"#{row['rank']}" if row["rank"] else "not in top 10"
    return rank if row["confident"] else f"{rank}, abstains"


def compare(old: dict, new: dict) -> Change | None:
    """How one question's outcome moved; None when it did not."""
    if (old["rank"], old["confident"]) == (new["rank"], new["confident"]):
        return None
    if not new["answerable"]:
        return Change(new["q"], _state(old), _state(new), worse=new["confident"], severity=1.0)
    rr_old, rr_new = (1 / row["rank"] if row["rank"] else 0.0 for row in (old, new))
    flip = 0.5 if old["confident"] != new["confident"] else 0.0
    worse = rr_new < rr_old or (rr_new == rr_old and not new["confident"])
    return Change(new["q"], _state(old), _state(new), worse, round(abs(rr_new - rr_old) + flip, 4))


def diff(old: dict, new: dict) -> dict:
    """Per configuration present in both runs: metric deltas and per-question changes, largest first."""
    configs = {}
    for name, after in new["configs"].items():
        before = old["configs"].get(name)
        if before is None:
            continue
        deltas = {m: round(after["overall"].get(m, 0) - before["overall"].get(m, 0), 4) for m in RANKING_METRICS}
        deltas |= {m: round(after["abstention"][m] - before["abstention"][m], 4) for m in ABSTENTION_HEADLINE}
        was = {row["q"]: row for row in before.get("per_question", [])}
        now = {row["q"]: row for row in after.get("per_question", [])}
        changes = [c for q in now.keys() & was.keys() if (c := compare(was[q], now[q]))]
        changes.sort(key=lambda c: (-c.severity, c.q))
        configs[name] = {"deltas": deltas, "per_question": bool(was),
                         "worse": [asdict(c) for c in changes if c.worse],
                         "better": [asdict(c) for c in changes if not c.worse],
                         "only_before": len(was.keys() - now.keys()),
                         "only_now": len(now.keys() - was.keys()) if was else 0}
    return {"before": old.get("index_version"), "now": new.get("index_version"), "configs": configs}
