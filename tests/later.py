"""Run the suite a year (or ``--days``) after today, to prove no test reads the calendar.

    python -m tests.later [--days 365] [pytest arguments…]

Every process the tests start (the server, PostgreSQL, git) sees the shifted wall clock through libfaketime, which
the ``libfaketime`` package builds from source (Debian's 0.9.10 hangs Python's timed waits). Monotonic clocks are
left alone: timeouts and sleeps stay real. Chromium is launched without it (``launch_chromium``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.later", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="how far after today the suite runs (default 365)")
    args, pytest_args = parser.parse_known_args(argv)
    try:
        import libfaketime
    except ImportError:
        print("tests.later: pip install libfaketime (the test extra has it)", file=sys.stderr)
        return 2
    _, env = libfaketime.get_reload_information()
    env = {**os.environ, **env, "FAKETIME": f"+{args.days}d", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    later = dt.date.today() + dt.timedelta(days=args.days)
    print(f"tests.later: the suite's wall clock is {later} ({args.days} days ahead)", flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "pytest", *pytest_args], env)


if __name__ == "__main__":
    sys.exit(main())
