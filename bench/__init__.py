"""Caisse benchmarks: each ``bench/<name>_bench.py`` has ``async def main(argv) -> None`` printing figures."""
