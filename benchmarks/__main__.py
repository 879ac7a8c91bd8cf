"""`python -m benchmarks [NAME ...] [OPTIONS]`: run benchmarks, print Markdown for BENCHMARKS.md.

Names come first (all benchmarks when none); options after them go to every named benchmark,
e.g. `python -m benchmarks import --rows 20000 --backends sqlite`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from benchmarks import (
    bench_analytics,
    bench_compliance,
    bench_dialer,
    bench_import,
    bench_llm,
    bench_load,
    bench_simulator,
    bench_understanding,
    bench_voice,
)
from benchmarks.common import machine

BENCHMARKS: dict[str, Callable[[list[str]], list[str]]] = {
    "import": bench_import.main,
    "compliance": bench_compliance.main,
    "dialer": bench_dialer.main,
    "simulator": bench_simulator.main,
    "understanding": bench_understanding.main,
    "analytics": bench_analytics.main,
    "voice": bench_voice.main,
    "llm": bench_llm.main,
    "load": bench_load.main,
}


def main() -> None:
    args = sys.argv[1:]
    first_option = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    names, options = args[:first_option] or list(BENCHMARKS), args[first_option:]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    print(f"Machine: {machine()}\n")
    for name in names:
        print(f"## {name}\n")
        print("\n".join(BENCHMARKS[name](options)), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
