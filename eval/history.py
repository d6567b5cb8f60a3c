"""Eval history: one JSON line per run, appended, so a trend over weeks of KB and code changes is visible.

Each line holds when, at which commit, on which index and embedder, and each
configuration's headline metrics. The file is append-only and plain JSONL, so it
diffs well in git and survives a run that crashes halfway (a torn last line is skipped).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from indexer.build import git_commit

from .harness import ABSTENTION_HEADLINE, HEADLINE_METRICS


def entry(result: dict, now: dt.datetime, commit: str | None) -> dict:
    return {"run_at": now.isoformat(timespec="seconds"), "commit": commit,
            "questions_file": result["questions_file"], "kb": result["kb"],
            "index_version": result["index_version"], "embedder": result["embedder"],
            "confidence_threshold": result["confidence_threshold"],
            "configs": {name: {m: r["overall"].get(m) for m in HEADLINE_METRICS}
                        | {m: r["abstention"][m] for m in ABSTENTION_HEADLINE}
                        for name, r in result["configs"].items()}}


def append(path: Path, result: dict, now: dt.datetime | None = None) -> dict:
    row = entry(result, now or dt.datetime.now(dt.timezone.utc), git_commit(Path.cwd(), mark_dirty=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if handle.seek(0, os.SEEK_END):
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")  # an interrupted run's partial line must not swallow this one
        handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    return row


def read(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a torn line from an interrupted run
    return rows


def trend_markdown(rows: list[dict], questions_file: str, config: str = "hybrid", last: int = 10) -> str:
    """The last runs on the same question file, oldest first."""
    same = [r for r in rows if r.get("questions_file") == questions_file and config in r.get("configs", {})]
    lines = [f"## History: {config} on {questions_file} (last {min(last, len(same))} of {len(same)} runs)", "",
             "| run at | commit | embedder | R@1 | R@3 | MRR@10 | nDCG@10 | abstain R | false-abstain |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in same[-last:]:
        m = r["configs"][config]
        cells = [f"{m[k]:.3f}" if m.get(k) is not None else "" for k in HEADLINE_METRICS]
        cells += [f"{m[k]:.2f}" for k in ABSTENTION_HEADLINE]
        commit = r.get("commit") or "—"
        commit = commit[:8] + ("+dirty" if commit.endswith("+dirty") else "")
        lines.append(f"| {r['run_at']} | {commit} | {r['embedder']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
