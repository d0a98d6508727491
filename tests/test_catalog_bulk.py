"""Large catalog writes on a copy of the catalog (issue 10, item 3): a refresh that writes
many entries builds a copy of ``catalog.duckdb`` and swaps it in, so a reader in another
process never waits for it and sees the previous state until the swap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

import segjupyter
from segjupyter.segments import refresh

RULE = 'spend(last 12 months) >= 100'

READER = textwrap.dedent("""
    import json, sys, time
    import segjupyter
    ws = segjupyter.open(sys.argv[1], read_only=True)
    st = ws.storage
    t = time.monotonic()
    with st.read(catalog=True) as con:     # holds a catalog read for 3 s
        print(json.dumps({"waited": time.monotonic() - t}), flush=True)
        before = con.execute("SELECT count(*) FROM catalog.segment_members").fetchall()[0][0]
        time.sleep(3)
        after = con.execute("SELECT count(*) FROM catalog.segment_members").fetchall()[0][0]
    with st.read(catalog=True) as con:
        fresh = con.execute("SELECT count(*) FROM catalog.segment_members").fetchall()[0][0]
    print(json.dumps({"before": before, "after": after, "fresh": fresh}), flush=True)
""")


def test_bulk_refresh_matches_in_place_and_swaps_the_file(demo_copy, monkeypatch):
    ws = segjupyter.open(demo_copy("bulk"))
    cat = ws.segments
    cat.save(RULE, name="a")
    cat.save(RULE, name="b")
    monkeypatch.setattr(refresh, "BULK_ROWS", 0)
    catalog = Path(ws.storage.catalog_path)
    inode = os.stat(catalog).st_ino
    cat.refresh_all(names=["a"], progress=False)
    assert os.stat(catalog).st_ino != inode  # written on a copy, swapped in
    assert not list(catalog.parent.glob("catalog.duckdb.new-*"))
    _no_old_file_left(catalog.parent)  # the replaced file is unlinked by a thread
    monkeypatch.setattr(refresh, "BULK_ROWS", 10**12)
    inode = os.stat(catalog).st_ino
    cat.refresh_all(names=["b"], progress=False)
    assert os.stat(catalog).st_ino == inode  # a small write stays in place
    expected = ws.segment(RULE).member_ids().tolist()
    assert cat.member_ids("a") == cat.member_ids("b") == expected
    assert len(cat.events("a")) == len(expected) == len(cat.events("b"))
    ws.close()


def test_reader_is_not_blocked_by_a_bulk_write_and_sees_the_old_state(demo_copy, monkeypatch):
    path = demo_copy("bulk-reader")
    ws = segjupyter.open(path)
    cat = ws.segments
    cat.save(RULE, name="a")
    monkeypatch.setattr(refresh, "BULK_ROWS", 0)
    reader = subprocess.Popen([sys.executable, "-c", READER, path], stdout=subprocess.PIPE,
                              text=True)
    first = json.loads(reader.stdout.readline())  # the reader now holds a catalog read
    t = time.monotonic()
    cat.refresh_all(progress=False)
    took = time.monotonic() - t
    last = json.loads(reader.stdout.readline())
    assert reader.wait(timeout=30) == 0
    n = len(cat.member_ids("a"))
    assert n > 0 and first["waited"] < 1
    assert took < 3  # did not wait for the reader's 3 s
    assert last["before"] == last["after"] == 0  # the held read saw the state before
    assert last["fresh"] == n  # the next read sees the swapped-in catalog
    ws.close()


def test_every_write_to_a_large_catalog_is_made_on_a_copy(demo_copy, monkeypatch):
    from segjupyter.workspace import storage
    ws = segjupyter.open(demo_copy("bulk-size"))
    cat = ws.segments
    copies = []
    copy_catalog = ws.storage._copy_catalog
    monkeypatch.setattr(ws.storage, "_copy_catalog",
                        lambda: (copies.append(1), copy_catalog())[1])
    monkeypatch.setattr(storage, "BULK_BYTES", 0)  # any catalog is "large"
    holds = len(ws.storage.lock_holds)
    cat.save(RULE, name="c")
    assert copies  # written on a copy (inode numbers can be reused: not compared here)
    assert len(ws.storage.lock_holds) == holds  # no in-place write closed the gate
    assert cat.names() == ["c"]
    assert not list(Path(ws.storage.catalog_path).parent.glob("catalog.duckdb.new-*"))
    ws.close()


def _with_segment_a(demo_copy, name: str):
    path = demo_copy(name)
    ws = segjupyter.open(path)
    ws.segments.save(RULE, name="a")
    return path, ws, ws.segments


def _membership_view_rows(ws) -> int:
    with ws.storage.read(catalog=True) as con:
        return con.execute("SELECT count(*) FROM catalog.segment_membership").fetchone()[0]


def _no_old_file_left(folder: Path) -> None:
    deadline = time.monotonic() + 10
    while list(folder.glob("catalog.duckdb.old-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(folder.glob("catalog.duckdb.old-*"))


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import segjupyter
    ws = segjupyter.open(sys.argv[1])
    with ws.storage.write(bulk=True) as con:
        con.execute("DELETE FROM catalog.segment_members")
        os.kill(os.getpid(), signal.SIGKILL)   # a crash in the middle of a bulk write
""")


def test_a_writer_killed_during_a_bulk_write_leaves_nothing_the_next_one_keeps(
        demo_copy, monkeypatch):
    path, ws, cat = _with_segment_a(demo_copy, "bulk-killed")
    cat.refresh_all(progress=False)
    members = cat.member_ids("a")
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, path])
    assert proc.returncode == -9
    folder = Path(path)
    assert list(folder.glob("catalog.duckdb.new-*"))  # its half-written copy
    assert cat.member_ids("a") == members  # the catalog is as it was
    monkeypatch.setattr(refresh, "BULK_ROWS", 0)
    cat.save(RULE, name="b")
    cat.refresh_all(names=["b"], progress=False)  # the next bulk writer sweeps the copy
    assert not list(folder.glob("catalog.duckdb.new-*"))
    _no_old_file_left(folder)
    assert cat.member_ids("a") == cat.member_ids("b") == members
    ws.close()



UNCHECKPOINTED_WRITER = textwrap.dedent("""
    import os, sys
    import duckdb
    # what a catalog writer killed between its commit and the checkpoint leaves on disk:
    # a committed change in catalog.duckdb.wal, not in the file
    con = duckdb.connect(sys.argv[1])
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("SET checkpoint_threshold = '1TB'")
    con.execute("INSERT INTO settings VALUES ('left_in_the_wal', 'yes')")
    os._exit(0)
""")


def test_a_bulk_write_after_a_writer_died_before_its_checkpoint_keeps_the_catalog_whole(
        demo_copy, monkeypatch):
    path, ws, cat = _with_segment_a(demo_copy, "bulk-wal")
    catalog = Path(ws.storage.catalog_path)
    proc = subprocess.run([sys.executable, "-c", UNCHECKPOINTED_WRITER, str(catalog)])
    assert proc.returncode == 0
    assert Path(f"{catalog}.wal").exists()
    monkeypatch.setattr(refresh, "BULK_ROWS", 0)
    cat.refresh_all(progress=False)  # written on a copy, swapped in
    ws.close()
    again = segjupyter.open(path)  # opens; nothing committed was lost
    assert again.setting("left_in_the_wal") == "yes"
    assert again.segments.member_ids("a") == again.segment(RULE).member_ids().tolist()
    again.close()
    assert not Path(f"{catalog}.wal").exists()


def test_compact_gives_back_the_space_of_deleted_segments_and_keeps_everything_else(
        demo_copy):
    path, ws, cat = _with_segment_a(demo_copy, "compact")
    cat.refresh_all(progress=False)
    for i in range(30):
        cat.save(f'not city = "nowhere {i}"', name=f"tmp_{i}")  # every customer
    cat.refresh_all(progress=False)
    for i in range(30):
        cat.delete(f"tmp_{i}")
    kept = {"members": cat.member_ids("a"), "events": cat.events("a"),
            "history": cat.history("a"), "list": cat.list().drop(columns="since_refresh"),
            "tz": ws.setting("timezone"), "view": _membership_view_rows(ws)}
    catalog = Path(ws.storage.catalog_path)
    reader = subprocess.Popen([sys.executable, "-c", READER, path], stdout=subprocess.PIPE,
                              text=True)
    json.loads(reader.stdout.readline())  # a reader holds a catalog read for 3 s
    size = os.path.getsize(catalog)
    t = time.monotonic()
    sizes = cat.compact()
    took = time.monotonic() - t
    assert reader.wait(timeout=30) == 0
    assert took < 3  # did not wait for the reader
    assert sizes["before"] == size and sizes["after"] == os.path.getsize(catalog)
    assert sizes["after"] < sizes["before"] / 2, sizes
    assert cat.member_ids("a") == kept["members"]
    pd.testing.assert_frame_equal(cat.events("a"), kept["events"])
    pd.testing.assert_frame_equal(cat.history("a"), kept["history"])
    pd.testing.assert_frame_equal(cat.list().drop(columns="since_refresh"), kept["list"])
    assert ws.setting("timezone") == kept["tz"]
    assert _membership_view_rows(ws) == kept["view"]
    cat.save(RULE, name="after")  # and the catalog takes writes as before
    cat.refresh_all(progress=False)
    assert cat.member_ids("after") == kept["members"]
    assert not list(catalog.parent.glob("catalog.duckdb.new-*"))
    ws.close()
