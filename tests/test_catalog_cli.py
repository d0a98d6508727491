"""``segjupyter refresh | list | export | snapshot | compact``: output and exit codes fit
for cron."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import catalog_frames as cf
import segjupyter
from segjupyter.cli import main


@pytest.fixture
def wsdir(tmp_path):
    path = tmp_path / "shop"
    ws = segjupyter.open(path)
    df = cf.customers()
    df["tier"] = ["gold", "silver", "gold", None, None, "gold"]
    ws.load(customers=df, orders=cf.orders())
    ws.segments.save("spend(last 30 days) >= 100", name="big")
    ws.segments.save('city = "Paris"', name="paris", kind="static")
    ws.segments.save('tier = "gold"', name="gold")
    ws.close()
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_refresh_list_export_snapshot(wsdir, tmp_path, capsys):
    code, out, err = run(capsys, "refresh", wsdir, "--as-of", cf.FEB)
    assert code == 0, err
    assert "refreshed 3 of 3 segments as of 2026-02-28 23:59:59" in out
    lines = out.splitlines()
    assert lines[0].split() == ["segment", "customers", "entered", "left", "error"]
    assert lines[1].split() == ["big", "2", "2", "0"]
    assert "[refresh]" in err and "[refresh]" not in out  # progress on stderr

    code, out, err = run(capsys, "refresh", wsdir, "--as-of", cf.MAR, "--segment", "big")
    assert code == 0 and "refreshed 1 of 1 segments" in out
    assert out.splitlines()[1].split() == ["big", "0", "0", "2"]

    code, out, err = run(capsys, "list", wsdir)
    assert code == 0
    rows = [ln.split() for ln in out.splitlines()]
    assert rows[0][:6] == ["id", "name", "kind", "status", "customers", "subscribed"]
    assert rows[1][:6] == ["1", "big", "dynamic", "active", "0", "0"]
    assert rows[2][:6] == ["2", "paris", "static", "locked", "2", "1"]

    csv = tmp_path / "paris.csv"
    code, out, err = run(capsys, "export", wsdir, "paris", str(csv), "--columns",
                         "customer_id,email", "lifetime_spend")
    assert code == 0 and "wrote 2 customers" in out
    assert csv.read_bytes() == (b"customer_id,email,lifetime_spend\n"
                                b"3,chloe@example.fr,120.00\n6,femi@example.com,0.00\n")

    snap = tmp_path / "snap.csv"
    code, out, err = run(capsys, "snapshot", wsdir, "paris", "--csv", str(snap))
    assert code == 0 and out.startswith("snapshot 1 of 'paris': 2 customers as of 2026-02-28")
    assert snap.read_text(encoding="utf-8").splitlines()[1] == \
        "3,Chloé Martin,Chloé,Martin,chloe@example.fr,2025-03-10,France,75001,120.00"


def test_exit_codes(wsdir, tmp_path, capsys):
    assert run(capsys, "refresh", wsdir, "--as-of", cf.FEB)[0] == 0
    # a failing refresh: the custom field "tier" is gone from the data
    ws = segjupyter.open(wsdir)
    ws.load(customers=cf.customers())
    ws.close()
    code, out, err = run(capsys, "refresh", wsdir, "--as-of", cf.MAR)
    assert code == 1
    assert "refreshed 1 of 2 segments" in out  # paris is locked, big is refreshed
    assert "segjupyter refresh: error: gold: " in err and "tier" in err
    # bad usage
    code, out, err = run(capsys, "refresh", str(tmp_path / "nowhere"))
    assert code == 2 and "no workspace at" in err
    code, out, err = run(capsys, "refresh", wsdir, "--as-of", "last tuesday")
    assert code == 2 and "is not a date" in err
    code, out, err = run(capsys, "export", wsdir, "bgi", str(tmp_path / "x.csv"))
    assert code == 2 and "did you mean 'big'" in err
    code, out, err = run(capsys, "snapshot", wsdir)
    assert code == 2
    code, out, err = run(capsys, "refresh", wsdir, "--segment", "paris")
    assert code == 1 and "is locked" in err
    # nothing due is a success
    ws = segjupyter.open(wsdir)
    for name in ("big", "gold"):
        ws.segments.deactivate(name)
    ws.close()
    code, out, err = run(capsys, "refresh", wsdir)
    assert code == 0 and "nothing to refresh" in out


def test_compact(wsdir, tmp_path, capsys):
    assert run(capsys, "refresh", wsdir, "--as-of", cf.FEB)[0] == 0
    ws = segjupyter.open(wsdir)
    big = ws.segments.member_ids("big")
    ws.segments.delete("gold")
    ws.close()
    code, out, err = run(capsys, "compact", wsdir)
    assert code == 0, err
    assert out.startswith(f"catalog of {wsdir}: ") and " MB -> " in out
    ws = segjupyter.open(wsdir)
    assert ws.segments.names() == ["big", "paris"] and ws.segments.member_ids("big") == big
    ws.close()
    code, out, err = run(capsys, "compact", str(tmp_path / "nowhere"))
    assert code == 2 and "no workspace at" in err


def test_console_script_for_cron(wsdir):
    exe = Path(sys.executable).with_name("segjupyter")
    proc = subprocess.run([str(exe), "refresh", wsdir, "--as-of", cf.JAN],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refreshed 3 of 3 segments as of 2026-01-31" in proc.stdout
    assert "[refresh] 4/4 done" in proc.stderr
