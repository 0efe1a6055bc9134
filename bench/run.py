"""`make bench`: runs every bench/bench_*.py in turn and prints their figures.

The recall benchmark seeds BENCH_ADMINISTRATIONS administrations (default
1,000,000, about 2 minutes the first time; the seeded file is reused). The
issue's figure is at 10,000,000: `BENCH_ADMINISTRATIONS=10000000 make bench`
(about 15 minutes to seed on this machine). Record figures in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTRA_ARGS = {
    "bench_recall.py": ["--administrations", os.environ.get("BENCH_ADMINISTRATIONS", "1000000")],
    "bench_scale.py": ["--large", os.environ.get("BENCH_PATIENTS", "100000")],
    "bench_http.py": ["--patients", os.environ.get("BENCH_PATIENTS", "100000")],
}


def main() -> int:
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        command = [sys.executable, str(script), *EXTRA_ARGS.get(script.name, [])]
        failures += subprocess.run(command, check=False).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
