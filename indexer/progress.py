"""Build progress, one stage at a time (parse, chunk, embed, bm25, write, train, publish).

On a terminal each stage is a tqdm bar with its rate and ETA. Anywhere else (a CI log, a cron mail)
carriage-return redraws would be noise, so each stage prints one plain line when it ends, and a long
one also at each quarter, with the elapsed time and an ETA.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

QUARTER_AFTER_SECONDS = 2.0  # a stage shorter than this prints only its final line in a log


class Progress:
    def __init__(self, enabled: bool = True, stream: TextIO | None = None, interactive: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._close: Callable[[], None] | None = None

    def stage(self, name: str, total: int, unit: str = "") -> Callable[[int], None]:
        """Start stage ``name`` of ``total`` steps (ending the one before); returns ``update(steps)``."""
        self.finish()
        if not self.enabled:
            return lambda steps=1: None
        if self.interactive:
            return self._bar(name, total, unit)
        return self._lines(name, total, unit)

    def finish(self) -> None:
        if self._close:
            close, self._close = self._close, None
            close()

    def _bar(self, name: str, total: int, unit: str) -> Callable[[int], None]:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=f"{name:8s}", unit=f" {unit}" if unit else "it", file=self.stream,
                   leave=True, dynamic_ncols=True)
        self._close = bar.close
        return lambda steps=1: bar.update(steps)

    def _lines(self, name: str, total: int, unit: str) -> Callable[[int], None]:
        started = time.monotonic()
        state = {"done": 0, "quarter": 0}
        label = f" {unit}" if unit else ""

        def update(steps: int = 1) -> None:
            state["done"] += steps
            elapsed = time.monotonic() - started
            quarter = 4 * state["done"] // total if total else 0
            if 0 < quarter < 4 and quarter > state["quarter"] and elapsed >= QUARTER_AFTER_SECONDS:
                state["quarter"] = quarter
                eta = elapsed * (total - state["done"]) / state["done"]
                print(f"build: {name} {state['done']}/{total}{label} ({25 * quarter}%), {elapsed:.1f}s elapsed, "
                      f"ETA {eta:.0f}s", file=self.stream, flush=True)

        def close() -> None:
            print(f"build: {name} {state['done']}/{total}{label} in {time.monotonic() - started:.1f}s",
                  file=self.stream, flush=True)

        self._close = close
        return update
