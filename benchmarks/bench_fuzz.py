"""Run the hostile-input fuzz tests (tests/test_fuzz.py) with many more examples.

    python benchmarks/bench_fuzz.py [--scale 20]

The CI run draws about 3,400 derandomized examples; ``--scale N`` draws N times more (the
examples stay derandomized, so a run is repeatable). Prints the per-kind counts of valid
inputs and of each error type, and exits with pytest's status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=20.0, help="times the CI examples")
    args = p.parse_args()
    env = {**os.environ, "SEGJUPYTER_FUZZ_SCALE": str(args.scale)}
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/test_fuzz.py", "-q", "-s",
                          "-p", "no:cacheprovider"], cwd=ROOT, env=env, text=True,
                         capture_output=True)
    for line in out.stdout.splitlines():
        if line.startswith("fuzz ") or "passed" in line or "failed" in line:
            print(line)
    if out.returncode:
        print(out.stdout[-5000:], out.stderr[-2000:], sep="\n")
    print(f"scale {args.scale:g}: {time.monotonic() - t0:.0f} s, load average "
          f"{os.getloadavg()[0]:.1f}")
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
