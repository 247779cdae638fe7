"""Run every benchmark (``make bench``) or the ones named: ``python -m bench outbox consumer``."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def discover() -> list[str]:
    """Benchmark module names, e.g. ``outbox`` for ``bench/outbox_bench.py``."""
    return sorted(p.stem.removesuffix("_bench") for p in HERE.glob("*_bench.py"))


def main() -> None:
    """Run the selected benchmarks one after the other (they share the machine's 2 cores)."""
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or discover()
    extra = [a for a in sys.argv[1:] if a.startswith("-")]
    for name in names:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"\n=== bench {name} ===", flush=True)
        started = time.perf_counter()
        asyncio.run(module.main(extra))
        print(f"=== {name}: {time.perf_counter() - started:.1f}s ===", flush=True)


if __name__ == "__main__":
    main()
