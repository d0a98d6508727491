"""Crash matrix (issue 13, item 4): every write operation of ``helpers/crash_ops.py`` is
killed with SIGKILL at random moments. After each kill the workspace opens, its state
(every catalog table, the retail data, the exported files) is exactly the old one or exactly
the new one, and the next run of the operation succeeds and ends in the new state.

The state after a complete run is measured once per operation on a copy (a reference run);
kill moments are drawn (seeded) from the whole length of that run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import segjupyter
from helpers import crash_ops

KILLS = int(os.environ.get("SEGJUPYTER_CRASH_KILLS", "10"))
HELPERS = Path(__file__).parent / "helpers"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "base"
    ws = segjupyter.open(path)
    crash_ops.prepare(ws)
    ws.close()
    return path


@pytest.fixture(scope="module")
def forker():
    env = {**os.environ, "SEGJUPYTER_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HELPERS), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(HELPERS / "crash_child.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert json.loads(proc.stdout.readline()) == {"ready": True}

    def run(op: str, path: Path, delay: float | None) -> dict:
        proc.stdin.write(json.dumps({"op": op, "path": str(path), "delay": delay}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield run
    proc.stdin.close()
    proc.wait(30)


def _state(path: Path) -> dict:
    ws = segjupyter.open(path)  # "the workspace opens"
    try:
        return crash_ops.state(ws)
    finally:
        ws.close()


def _diff(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


MATRIX: dict[str, dict] = {}


@pytest.mark.slow
@pytest.mark.parametrize("op", sorted(crash_ops.OPS))
def test_kill_9_at_random_moments_leaves_the_old_or_the_new_state(op, base, forker, tmp_path):
    old = _state(base)
    ref = tmp_path / "ref"
    shutil.copytree(base, ref)
    done = forker(op, ref, None)
    assert done["outcome"] == "finished", done
    new = _state(ref)
    assert _diff(old, new), f"{op} changed nothing"
    rng = random.Random(f"crash-{op}")
    counts = {"kills": 0, "mid-operation": 0, "old": 0, "new": 0}
    # kill moments are drawn until KILLS of them landed inside the operation (a kill that
    # comes just after it finished still counts as a run); bounded, then asserted
    i = 0
    while counts["mid-operation"] < KILLS and counts["kills"] < 4 * KILLS:
        i += 1
        ws_path = tmp_path / f"run{i}"
        shutil.copytree(base, ws_path)
        out = forker(op, ws_path, rng.uniform(0, done["elapsed"] * 1.1))
        assert out["outcome"] in ("killed", "finished"), out
        counts["kills"] += 1
        counts["mid-operation"] += out["outcome"] == "killed"
        ws = segjupyter.open(ws_path)  # the workspace opens
        try:
            after = crash_ops.state(ws)
            if after == old:
                counts["old"] += 1
            else:
                assert after == new, f"{op} killed after {out['elapsed']:.3f} s left half " \
                                     f"a state; differs in {_diff(after, new)}"
                counts["new"] += 1
            # the next operation succeeds; from the old state it gives exactly the new one
            crash_ops.OPS[op](ws)
            if after == old:
                again = crash_ops.state(ws)
                assert again == new, _diff(again, new)
            leftovers = [p.name for p in ws_path.rglob("*") if ".new-" in p.name
                         or ".part-" in p.name
                         or (".old-" in p.name and f".old-{os.getpid()}." not in p.name)]
            assert leftovers == [], leftovers  # the next writer swept the killed one's files
        finally:
            ws.close()
        shutil.rmtree(ws_path)
    MATRIX[op] = {**counts, "op seconds": round(done["elapsed"], 3)}
    print(f"\ncrash matrix {op}: {MATRIX[op]}")
    assert counts["mid-operation"] >= KILLS, counts
