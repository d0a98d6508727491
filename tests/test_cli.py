"""The ``segjupyter`` console script, run as a real process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import segjupyter as sj
from segjupyter.cli import main

SCRIPT = Path(sys.executable).with_name("segjupyter")


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), "console script missing: .venv/bin/pip install -e . --no-deps"
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def table_rows(stdout: str) -> dict[str, int]:
    return {m[1]: int(m[2].replace(",", ""))
            for m in re.finditer(r"^\s+(\w+)\s+([\d,]+) rows$", stdout, re.M)}


def test_version():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"segjupyter {sj.__version__}"


def test_no_command_is_a_usage_error():
    p = run()
    assert p.returncode == 2 and "usage: segjupyter" in p.stderr


@pytest.mark.parametrize("args, message", [
    (("demo", "--size", "X"), "invalid choice: 'X'"),
    (("demo", "--seed", "many"), "invalid int value"),
    (("frobnicate",), "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_exit_2(args, message, capsys):
    assert main(list(args)) == 2  # in process: the same parser the script uses
    assert message in capsys.readouterr().err


def test_demo_builds_in_the_default_folder_then_reuses_it(tmp_path):
    p = run("demo", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    folder = tmp_path / "segjupyter-demo"
    ws = sj.open(folder)
    counts = {t: ws.sql(f"SELECT count(*) FROM {t}").scalar()
              for t in ("customers", "orders", "order_lines", "events")}
    shown = table_rows(p.stdout)
    assert all(shown[t] == n for t, n in counts.items()), (shown, counts)
    assert counts["customers"] == sj.demo.SIZES["S"].customers
    assert re.search(r"demo S \(seed 42\) ready in \d+\.\d s at .*segjupyter-demo", p.stdout)
    stamp = (folder / "retail.duckdb").stat().st_mtime_ns

    again = run("demo", "segjupyter-demo", "--size", "s", cwd=tmp_path)  # size is case-blind
    assert again.returncode == 0, again.stderr
    assert table_rows(again.stdout) == shown
    assert (folder / "retail.duckdb").stat().st_mtime_ns == stamp  # reused, not rebuilt

    forced = run("demo", folder, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (folder / "retail.duckdb").stat().st_mtime_ns != stamp
    assert table_rows(forced.stdout) == shown  # same seed, same data


def test_demo_seed_is_passed_on(tmp_path, demo_ws_path):
    p = run("demo", tmp_path / "seven", "--seed", "7")
    assert p.returncode == 0, p.stderr
    assert "demo S (seed 7)" in p.stdout
    ws = sj.open(tmp_path / "seven")
    assert ws.setting("demo_seed") == "7"
    seed42 = sj.open(demo_ws_path).sql("SELECT count(*) FROM order_lines").scalar()
    assert table_rows(p.stdout)["order_lines"] == \
        ws.sql("SELECT count(*) FROM order_lines").scalar() != seed42


def test_demo_refuses_a_file(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    p = run("demo", target)
    assert p.returncode == 1
    assert p.stderr.strip() == f"segjupyter demo: error: {target} is a file; the demo " \
                               "workspace is a folder"
    assert target.read_text() == "mine"


def test_demo_refuses_a_folder_of_other_files(tmp_path, capsys):
    (tmp_path / "report.pdf").write_text("x")
    assert main(["demo", str(tmp_path)]) == 1
    assert "is not empty and holds no workspace" in capsys.readouterr().err
    assert sorted(x.name for x in tmp_path.iterdir()) == ["report.pdf"]
