"""Start-up time of the command line: each command in a fresh process, median of N runs.

    .venv/bin/python benchmarks/startup.py [--runs 11]

Rows: the bare interpreter (the floor), `import torch` (what every command paid before the CLI imported lazily),
then `daguerre --help`, a command's help, `daguerre models` and `daguerre models show`. Goal: <= 0.5 s.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

CASES: list[tuple] = [
    ("python (bare interpreter)", ["-c", "pass"]),
    ("python -c 'import typer' (the floor for typer)", ["-c", "import typer"]),
    ("python -c 'import torch'", ["-c", "import torch"]),
    ("daguerre --help", ["-m", "daguerre.cli", "--help"]),
    ("daguerre stylize --help", ["-m", "daguerre.cli", "stylize", "--help"]),
    ("daguerre archive ingest --help", ["-m", "daguerre.cli", "archive", "ingest", "--help"]),
    ("daguerre models", ["-m", "daguerre.cli", "models"]),
    ("daguerre models show van-gogh-wheat-field", ["-m", "daguerre.cli", "models", "show", "van-gogh-wheat-field"]),
]


def seconds(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "80", **env})
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh processes per command (median reported)")
    args = parser.parse_args()
    print("# daguerre start-up time")
    print(f"machine : {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"python {platform.python_version()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"date    : {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"command : {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print(f"{'command':<44} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, argv, *env in CASES:
        seconds(argv, *env or [{}])  # warm the file cache
        times = [seconds(argv, *env or [{}]) for _ in range(args.runs)]
        print(f"{label:<44} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")


if __name__ == "__main__":
    main()
