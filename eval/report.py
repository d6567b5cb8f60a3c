"""Evaluation reports: a Markdown table for the terminal, JSON, and a comparison chart."""
from __future__ import annotations

import json
from pathlib import Path

from .harness import HEADLINE_METRICS, RANKING_METRICS


def _row(name: str, report: dict) -> str:
    overall, abst, lat = report["overall"], report["abstention"], report["latency_ms"]
    cells = [f"{overall.get(c, 0):.3f}" for c in RANKING_METRICS]
    cells += [f"{abst['abstain_precision']:.2f}", f"{abst['abstain_recall']:.2f}",
              f"{abst['false_abstain_rate']:.2f}", f"{lat['p50']:.1f}", f"{lat['p95']:.1f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def markdown(result: dict) -> str:
    configs = result["configs"]
    first = next(iter(configs.values()))
    lines = [f"# Retrieval eval: {result['questions_file']}",
             f"{first['questions']} questions ({first['answerable']} answerable, {first['no_answer']} no-answer); "
             f"KB {result['kb']}; index {result['index_version']}; embedder {result['embedder']}; "
             f"as of {result['as_of']}; confidence threshold {result['confidence_threshold']}", "",
             "| config | R@1 | R@3 | R@5 | MRR@10 | nDCG@10 | abstain P | abstain R | false-abstain | p50 ms | p95 ms |",
             "|---|" + "---:|" * 10]
    lines += [_row(name, report) for name, report in configs.items()]
    name, main = next(iter(configs.items()))
    calibration = configs.get("hybrid", {}).get("calibration")
    if calibration:
        lines += ["", f"## Confidence (hybrid): fitted for ≤ {calibration['max_false_abstain']:.0%} false abstention", "",
                  f"Category hold-out: the {calibration['holdout_questions']} answerable questions asked again with "
                  "their article's category hidden (in-domain questions the KB cannot answer); they join the fit "
                  "as negatives.", "",
                  "| | abstain P | abstain R | false-abstain | confident precision | hold-out abstain |",
                  "|---|---:|---:|---:|---:|---:|"]
        for label, key in ((f"**out of fold** ({calibration['folds']} folds)", "out_of_fold"),
                           ("in sample (fitted on all of this set)", "in_sample"), ("as served (current settings)", "served")):
            f = calibration[key]
            held = f"{f['holdout_abstain_rate']:.2f}" if f.get("holdout_abstain_rate") is not None else "—"
            lines.append(f"| {label} | {f['abstain_precision']:.2f} | {f['abstain_recall']:.2f} | "
                         f"{f['false_abstain_rate']:.3f} | {f['confident_precision']:.3f} | {held} |")
        settings = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in calibration["settings"].items())
        lines += ["", f"Fitted on all of this set, as settings: `{settings}`"]
    for title, key in (("question type", "by_type"), ("category", "by_category")):
        lines += ["", f"## {name}: by {title}", "", f"| {title} | n | R@1 | R@3 | MRR@10 | abstain rate |",
                  "|---|---:|---:|---:|---:|---:|"]
        for group, m in main[key].items():
            abstain = f"{m['abstain_rate']:.2f}" if "abstain_rate" in m else ""
            n = m.get("n", 0)
            if n:
                lines.append(f"| {group} | {n} | {m['recall@1']:.3f} | {m['recall@3']:.3f} | {m['mrr@10']:.3f} | {abstain} |")
            else:
                lines.append(f"| {group} | 0 | | | | {abstain} |")
    lines += ["", f"## {name}: failures ({main['failure_count']}; answerable not in top 3, or confident on no-answer)", ""]
    for f in main["failures"]:
        lines.append(f"- `{f['q']}` [{f['type']}] expected {', '.join(f['expected'])}; got {', '.join(f['got']) or '—'}"
                     f"{' (confident)' if f['confident'] else ''}")
    text = "\n".join(lines) + "\n"
    return text + "\n" + changes_markdown(result["changes"]) if "changes" in result else text


def changes_markdown(changes: dict, limit: int = 15) -> str:
    """The diff of two runs (eval.diff): metric deltas per configuration, then the questions that moved."""
    lines = [f"## Changes against {changes['against']} (index {changes['before']} → {changes['now']})", "",
             "| config | ΔR@1 | ΔR@3 | ΔR@5 | ΔMRR@10 | ΔnDCG@10 | Δabstain R | Δfalse-abstain | worse | better |",
             "|---|" + "---:|" * 9]
    for name, c in changes["configs"].items():
        cells = [f"{v:+.3f}" for v in c["deltas"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {len(c['worse'])} | {len(c['better'])} |")
    for name, c in changes["configs"].items():
        for title, key in (("worse", "worse"), ("better", "better")):
            moved = c[key]
            if not moved:
                continue
            lines += ["", f"### {name}: {title} ({len(moved)})", ""]
            lines += [f"- `{m['q']}`: {m['before']} → {m['after']}" for m in moved[:limit]]
            if len(moved) > limit:
                lines.append(f"- … and {len(moved) - limit} more (see report.json)")
        if not c["per_question"]:
            lines += ["", f"{name}: the earlier report has no per-question outcomes (an older version wrote it); "
                          "metric deltas only."]
        elif c["only_before"] or c["only_now"]:
            lines += ["", f"{name}: {c['only_before']} question(s) only in the earlier run, "
                          f"{c['only_now']} only in this one."]
    return "\n".join(lines) + "\n"


def write(result: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md"]
    written[0].write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    written[1].write_text(markdown(result), encoding="utf-8")
    written.append(chart(result, out / "comparison.png"))
    return written


def chart(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["configs"])
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, name in enumerate(names):
        values = [result["configs"][name]["overall"].get(m, 0) for m in HEADLINE_METRICS]
        bars = ax.bar([x + i * width for x in range(len(HEADLINE_METRICS))], values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(HEADLINE_METRICS))], HEADLINE_METRICS)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (answerable questions)")
    ax.set_title(f"Retrieval by configuration — {Path(result['questions_file']).name}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
