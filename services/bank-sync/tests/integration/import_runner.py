"""Child process of test_crash.py: ``caisse-bank-sync import`` started ahead of its data.

Importing the CLI's stack takes seconds on a loaded 2-core runner; this child does it while
the test writes the extract, says ``ready``, and runs ``import T24 <folder>`` against the
database URL the test then sends on its standard input.
"""

from __future__ import annotations

import os
import sys

from caisse_bank_sync.cli import app


def main() -> None:
    """Import first, then run the one import the test asks for."""
    print("ready", flush=True)
    url, folder = sys.stdin.readline().split()
    # The progress bar goes nowhere: nobody reads the pipe once the sync runs (a full one would
    # block the sync).
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    os.environ["DATABASE_URL"] = url
    app(["import", "T24", folder])


if __name__ == "__main__":
    main()
