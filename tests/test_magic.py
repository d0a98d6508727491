"""The %%segment / %segment magics, driven through a real IPython shell on the demo (size S).

Counts and members are checked against SQL written here by hand on the raw tables, not
against the compiler's own output.
"""

from __future__ import annotations

import csv
import shutil

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import segjupyter as sj
from segjupyter import magic as sjmagic
from segjupyter.rules.segment import Segment
from segjupyter.workspace.storage import CATALOG_FILE, RETAIL_FILE


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ws_path(demo_ws_path, tmp_path_factory) -> str:
    """A private copy of the shared demo: these tests write to its catalog."""
    dst = tmp_path_factory.mktemp("magic-ws")
    for name in (RETAIL_FILE, CATALOG_FILE):
        shutil.copy2(f"{demo_ws_path}/{name}", dst / name)
    return str(dst)


@pytest.fixture(scope="module")
def ws(ws_path):
    return sj.open(ws_path)


@pytest.fixture
def ip(ws):
    """A real shell with a fresh SegmentMagic and `ws` as the notebook's only workspace."""
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    sjmagic.unload_ipython_extension(shell)
    shell.config.pop("SegmentMagic", None)  # %config values of earlier tests
    sjmagic.load_ipython_extension(shell)
    shell.user_ns["ws"] = ws
    yield shell
    sjmagic.unload_ipython_extension(shell)
    shell.config.pop("SegmentMagic", None)


def scalar(ws, query: str, params=None):
    return ws.sql(query, params).scalar()


def magic_of(shell) -> sjmagic.SegmentMagic:
    return next(c for c in shell.configurables if isinstance(c, sjmagic.SegmentMagic))


def cell(shell, text: str):
    """Run ``text`` as a notebook cell; return (result, captured output)."""
    with capture_output() as out:
        result = shell.run_cell(text)
    return result, out


def html_of(out) -> str:
    return "\n".join(o.data.get("text/html", "") for o in out.outputs)


# -- loading and settings --------------------------------------------------------------------
def test_load_ext_registers_the_magics_and_the_config_target():
    shell = InteractiveShell.instance()
    shell.reset()
    sjmagic.unload_ipython_extension(shell)
    shell.extension_manager.loaded.discard("segjupyter")
    shell.run_line_magic("load_ext", "segjupyter")
    assert "segment" in shell.magics_manager.magics["cell"]
    assert "segment" in shell.magics_manager.magics["line"]
    assert sum(isinstance(c, sjmagic.SegmentMagic) for c in shell.configurables) == 1
    sjmagic.load_ipython_extension(shell)  # a second load keeps one instance
    assert sum(isinstance(c, sjmagic.SegmentMagic) for c in shell.configurables) == 1
    shell.run_line_magic("config", "SegmentMagic.displaylimit = 3")
    assert magic_of(shell).displaylimit == 3
    sjmagic.unload_ipython_extension(shell)
    assert shell.custom_exceptions == ()


# -- %%segment -------------------------------------------------------------------------------
def test_cell_assigns_the_segment_and_shows_its_count(ip, ws):
    result, out = cell(ip, '%%segment madrid\ncity = "Madrid"\n')
    assert result.success, out.stdout
    seg = ip.user_ns["madrid"]
    assert isinstance(seg, Segment) and seg.name == "madrid"
    expected = scalar(ws, "SELECT count(*) FROM customers WHERE city = 'Madrid'")
    assert expected > 0
    assert seg.count() == expected
    shown = html_of(out)
    assert "madrid" in shown and f"{expected:,}</b> customers" in shown
    assert "city = &quot;Madrid&quot;" in shown


def test_cell_without_name_displays_but_assigns_nothing(ip, ws):
    before = set(ip.user_ns)
    result, out = cell(ip, "%%segment\nsubscribed\n")
    assert result.success
    assert not any(isinstance(ip.user_ns[k], Segment) for k in set(ip.user_ns) - before)
    expected = scalar(ws, "SELECT count(*) FROM customers WHERE subscribed")
    assert f"{expected:,}</b> customers" in html_of(out)


def test_params_are_bound_from_the_notebook(ip, ws):
    ip.user_ns["min_spend"] = 500
    result, out = cell(ip, "%%segment big\nspend(last 12 months) >= :min_spend\n")
    assert result.success, out.stdout
    # as_of is the demo's reference instant; the window is (as_of - 12 months, as_of]
    expected = scalar(ws, """
        SELECT count(*) FROM (
          SELECT customer_id FROM orders
          WHERE ordered_at > TIMESTAMP '2025-06-30 23:59:00'
            AND ordered_at <= TIMESTAMP '2026-06-30 23:59:00'
          GROUP BY customer_id HAVING sum(total) >= 500)""")
    assert ip.user_ns["big"].count() == expected > 0
    ip.user_ns["min_spend"] = 1000  # the value travels with the Segment, not the text
    assert ip.user_ns["big"].count() == expected
    assert ip.user_ns["big"].params == {"min_spend": 500}


def test_param_values_are_never_spliced_into_sql(ip, ws):
    ip.user_ns["town"] = "Madrid' OR '1'='1"
    result, out = cell(ip, "%%segment odd\ncity = :town\n")
    assert result.success, out.stdout
    assert ip.user_ns["odd"].count() == 0
    ip.user_ns["town"] = "Madrid"
    cell(ip, "%%segment odd\ncity = :town\n")
    assert ip.user_ns["odd"].count() == scalar(
        ws, "SELECT count(*) FROM customers WHERE city = 'Madrid'")


def test_missing_param_is_one_message_pointing_at_it(ip):
    result, out = cell(ip, "%%segment x\nsubscribed and\nspend(last 12 months) >= :nope\n")
    assert not result.success
    assert isinstance(result.error_in_exec, sj.SegmentSyntaxError)
    assert "line 2, column 26: no value for :nope" in out.stdout
    assert "define the variable nope" in out.stdout
    assert "Traceback" not in out.stdout
    assert "x" not in ip.user_ns


def test_as_of_evaluates_at_another_instant(ip, ws):
    result, out = cell(ip, "%%segment buyers --as-of 2024-01-31\norders() >= 1\n")
    assert result.success, out.stdout
    expected = scalar(ws, "SELECT count(DISTINCT customer_id) FROM orders "
                          "WHERE ordered_at < TIMESTAMP '2024-02-01 00:00:00'")
    total = scalar(ws, "SELECT count(DISTINCT customer_id) FROM orders")
    assert 0 < expected < total
    shown = html_of(out)
    assert f"{expected:,}</b> customers" in shown and "as of 2024-01-31 23:59" in shown
    # the configured default as_of applies when the cell gives none
    ip.run_line_magic("config", 'SegmentMagic.as_of = "2024-01-31"')
    _, out = cell(ip, "%%segment buyers\norders() >= 1\n")
    assert f"{expected:,}</b> customers" in html_of(out)


def test_bad_as_of_is_a_clear_error(ip):
    result, out = cell(ip, "%%segment x --as-of yesterday-ish\nsubscribed\n")
    assert not result.success
    assert "as_of 'yesterday-ish' is not a date" in out.stdout


def test_sql_flag_shows_the_dialect_instead_of_the_summary(ip):
    result, out = cell(ip, '%%segment tea --sql spark\nbought(category = "Tea", last 6 months)\n')
    assert result.success, out.stdout
    text = "\n".join(o.data["text/plain"] for o in out.outputs)
    assert "`customer_id`" in text and "sj-segment" not in html_of(out)
    assert text.strip() == ip.user_ns["tea"].sql(dialect="spark").strip()
    _, out = cell(ip, "%%segment tea --sql\nsubscribed\n")
    assert '"customer_id"' in out.outputs[0].data["text/plain"]  # duckdb by default


def test_members_flag_shows_the_first_members(ip, ws):
    ip.run_line_magic("config", "SegmentMagic.displaylimit = 5")
    result, out = cell(ip, '%%segment lisboa --members\ncity = "Lisboa"\n')
    assert result.success, out.stdout
    members = [o for o in out.outputs if "sj-members" in o.data.get("text/html", "")]
    assert len(members) == 1
    expected = ws.sql("SELECT customer_id FROM customers WHERE city = 'Lisboa' "
                      "ORDER BY customer_id LIMIT 5").df()["customer_id"].tolist()
    total = scalar(ws, "SELECT count(*) FROM customers WHERE city = 'Lisboa'")
    text = members[0].data["text/plain"]
    assert f"{total:,} members (first 5 shown)" in text
    shown_ids = [int(line.split()[0]) for line in text.splitlines()[2:]]
    assert shown_ids == expected


def test_autodisplay_off_shows_nothing(ip):
    ip.run_line_magic("config", "SegmentMagic.autodisplay = False")
    result, out = cell(ip, "%%segment quiet\nsubscribed\n")
    assert result.success and out.outputs == [] and out.stdout == ""
    assert isinstance(ip.user_ns["quiet"], Segment)


@pytest.mark.parametrize("line, message", [
    ("my-seg", "not a Python variable name"),
    ("--save", "--save needs a NAME"),
    ("x --static", "go with --save"),
    ("x --sql sparky", "Unknown dialect 'sparky'"),
    ("x --bogus", "unrecognized arguments"),
])
def test_flag_mistakes_are_usage_errors(ip, line, message):
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("segment", line, "subscribed\n")


# -- errors ----------------------------------------------------------------------------------
def test_syntax_error_is_one_readable_message(ip):
    result, out = cell(ip, '%%segment x\ncty = "Madrid"\n')
    assert not result.success  # the cell still fails: Run all and papermill stop here
    assert isinstance(result.error_in_exec, sj.SegmentSyntaxError)
    lines = out.stdout.strip().splitlines()
    assert "SegmentSyntaxError" in lines[0]
    assert "line 1, column 1: unknown field 'cty' (did you mean 'city'?)" in lines[0]
    assert lines[1:] == ['    cty = "Madrid"', "    ^"]
    assert "Traceback" not in out.stdout
    _, out = cell(ip, "%tb")  # the full traceback is still there on demand
    assert "Traceback" in out.stdout and "SegmentSyntaxError" in out.stdout


def test_errors_of_plain_python_cells_are_short_too(ip):
    result, out = cell(ip, "ws.segment('spend(brand = \"Acmee\") > 0')")
    assert not result.success
    assert "did you mean 'Acme'?" in out.stdout and "Traceback" not in out.stdout


def test_short_errors_can_be_turned_off(ip):
    ip.run_line_magic("config", "SegmentMagic.short_errors = False")
    result, out = cell(ip, '%%segment x\ncty = "Madrid"\n')
    assert not result.success
    assert "Traceback" in out.stdout
    ip.run_line_magic("config", "SegmentMagic.short_errors = True")
    _, out = cell(ip, '%%segment x\ncty = "Madrid"\n')
    assert "Traceback" not in out.stdout


def test_direct_calls_raise_for_tests_and_scripts(ip):
    with pytest.raises(sj.SegmentSyntaxError):
        ip.run_cell_magic("segment", "x", 'cty = "Madrid"')


def test_another_extensions_exception_handler_is_left_alone():
    shell = InteractiveShell.instance()
    sjmagic.unload_ipython_extension(shell)

    def theirs(self, etype, value, tb, tb_offset=None):
        return ["theirs"]
    shell.set_custom_exc((ValueError,), theirs)
    try:
        sjmagic.load_ipython_extension(shell)
        assert shell.custom_exceptions == (ValueError,)
    finally:
        sjmagic.unload_ipython_extension(shell)
        shell.set_custom_exc((), None)


def test_in_a_real_kernel_the_error_is_short_and_the_cell_fails(ws_path):
    """What JupyterLab and papermill receive: an ``error`` output whose traceback is the
    message alone, and an execute reply with status error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("%load_ext segjupyter\nimport segjupyter\n"
                      f"ws = segjupyter.open({ws_path!r})"),
        new_code_cell('%%segment x\ncty = "Madrid"'),
        new_code_cell("after = 1"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    client = NotebookClient(nb, kernel_name="python3", timeout=60, allow_errors=False)
    with pytest.raises(CellExecutionError):
        client.execute()
    error = nb.cells[1].outputs[-1]
    assert error.output_type == "error" and error.ename == "SegmentSyntaxError"
    assert len(error.traceback) == 3
    assert "unknown field 'cty' (did you mean 'city'?)" in error.traceback[0]
    assert error.traceback[1:] == ['    cty = "Madrid"', "    ^"]
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None  # stopped


# -- choosing the workspace ------------------------------------------------------------------
def test_no_workspace_is_a_clear_error(ip):
    del ip.user_ns["ws"]
    result, out = cell(ip, "%%segment x\nsubscribed\n")
    assert isinstance(result.error_in_exec, sj.WorkspaceError)
    assert "no workspace chosen: run '%segment use PATH'" in out.stdout


def test_two_workspaces_must_be_chosen_between(ip, ws, ws_path):
    ip.user_ns["other"] = sj.open(":memory:")
    result, out = cell(ip, "%%segment x\nsubscribed\n")
    assert isinstance(result.error_in_exec, sj.WorkspaceError)
    assert "several workspaces in the notebook (other, ws)" in out.stdout
    _, out = cell(ip, "%segment use ws")
    assert f"using workspace {ws.path}" in out.stdout
    result, _ = cell(ip, "%%segment x\nsubscribed\n")
    assert result.success and ip.user_ns["x"].workspace is ws


def test_config_and_use_accept_a_path(ip, ws, ws_path):
    del ip.user_ns["ws"]
    ip.run_line_magic("config", f'SegmentMagic.workspace = "{ws_path}"')
    result, out = cell(ip, '%%segment m\ncity = "Madrid"\n')
    assert result.success, out.stdout
    assert ip.user_ns["m"].count() == scalar(ws, "SELECT count(*) FROM customers "
                                                 "WHERE city = 'Madrid'")
    ip.run_line_magic("config", 'SegmentMagic.workspace = ""')
    ip.user_ns["where"] = ws_path  # a variable holding a path works as well
    _, out = cell(ip, "%segment use where")
    assert magic_of(ip).workspace == ws_path
    assert cell(ip, "%%segment m\nsubscribed\n")[0].success


def test_use_of_a_folder_without_workspace_fails(ip, tmp_path):
    result, out = cell(ip, f"%segment use {tmp_path / 'nothing'}")
    assert isinstance(result.error_in_exec, sj.WorkspaceError)
    assert "no workspace at" in out.stdout and "segjupyter demo" in out.stdout
    assert not (tmp_path / "nothing").exists()


def test_use_of_a_variable_that_is_not_a_workspace(ip):
    ip.user_ns["n"] = 3
    with pytest.raises(UsageError, match="n is a int, not a Workspace"):
        ip.run_line_magic("segment", "use n")


# -- %segment line commands ------------------------------------------------------------------
def test_line_without_command_prints_the_usage(ip):
    _, out = cell(ip, "%segment")
    assert "%segment list" in out.stdout and "%segment export NAME PATH" in out.stdout


def test_unknown_command_is_a_usage_error(ip):
    with pytest.raises(UsageError, match="invalid choice: 'lst'"):
        ip.run_line_magic("segment", "lst")
    with pytest.raises(UsageError, match="%segment show: the following arguments are required"):
        ip.run_line_magic("segment", "show")


def test_fields_lists_the_registry(ip, ws):
    _, out = cell(ip, "%segment fields")
    shown = html_of(out)
    for name in ("city", "loyalty_tier", "brand", "offer_code"):
        assert f"<td>{name}</td>" in shown


# -- saving and the catalog ------------------------------------------------------------------
def madrid_ids(ws) -> set:
    return set(ws.sql("SELECT customer_id FROM customers WHERE city = 'Madrid'").df()
               ["customer_id"])


def test_save_stores_and_evaluates_a_dynamic_segment(ip, ws):
    result, out = cell(ip, '%%segment sv_madrid --save -d "people of Madrid"\ncity = "Madrid"\n')
    assert result.success, out.stdout
    expected = madrid_ids(ws)
    assert f"saved segment 'sv_madrid' (dynamic): {len(expected):,} customers" in out.stdout
    record = ws.segments.info("sv_madrid")
    assert (record.kind, record.active, record.description) == ("dynamic", True,
                                                                "people of Madrid")
    assert set(ws.segments.member_ids("sv_madrid")) == expected
    # re-running the cell with another rule updates the same segment (same id)
    result, out = cell(ip, '%%segment sv_madrid --save\ncity = "Madrid" and subscribed\n')
    assert result.success, out.stdout
    assert "updated segment 'sv_madrid'" in out.stdout
    again = ws.segments.info("sv_madrid")
    assert again.id == record.id and again.description == "people of Madrid"
    subscribed = set(ws.sql("SELECT customer_id FROM customers WHERE city = 'Madrid' "
                            "AND subscribed").df()["customer_id"])
    assert set(ws.segments.member_ids("sv_madrid")) == subscribed


def test_save_static_inactive_and_kind_change(ip, ws):
    result, out = cell(ip, '%%segment sv_static --save --static\ncity = "Madrid"\n')
    assert result.success, out.stdout
    assert ws.segments.info("sv_static").locked
    assert set(ws.segments.member_ids("sv_static")) == madrid_ids(ws)
    result, out = cell(ip, '%%segment sv_static --save --static\ncity = "Porto"\n')
    assert isinstance(result.error_in_exec, sj.CatalogError) and "locked" in out.stdout
    result, out = cell(ip, '%%segment sv_static --save\ncity = "Madrid"\n')
    assert isinstance(result.error_in_exec, sj.CatalogError)
    assert "saved as static" in out.stdout
    result, out = cell(ip, '%%segment sv_off --save --inactive\nsubscribed\n')
    assert result.success and "(dynamic, inactive)" in out.stdout
    assert not ws.segments.info("sv_off").active
    cell(ip, '%%segment sv_off --save\nsubscribed\n')  # saved again without --inactive
    assert ws.segments.info("sv_off").active


def test_save_with_a_param_keeps_its_value(ip, ws):
    ip.user_ns["town"] = "Lisboa"
    result, out = cell(ip, "%%segment sv_town --save\ncity = :town\n")
    assert result.success, out.stdout
    assert ws.segments.get("sv_town").params == {"town": "Lisboa"}
    lisboa = ws.sql("SELECT count(*) FROM customers WHERE city = 'Lisboa'").scalar()
    assert ws.segments.info("sv_town").customers == lisboa


def test_list_show_refresh_export_delete(ip, ws, tmp_path):
    cell(ip, '%%segment sv_cycle --save\ncity = "Madrid"\n')
    _, out = cell(ip, "%segment list")
    table = next(o for o in out.outputs if "text/html" in o.data).data["text/html"]
    assert "sv_cycle" in table and "ago" in table
    _, out = cell(ip, "%segment show sv_cycle")
    n = len(madrid_ids(ws))
    assert f"sv_cycle (dynamic, active) · {n:,} customers as of 2026-06-30 23:59" in out.stdout
    assert f"{n:,}</b> customers" in html_of(out)
    _, out = cell(ip, "%segment refresh sv_cycle")
    assert f"refreshed 'sv_cycle': {n:,} customers (+0 entered, -0 left)" in out.stdout
    _, out = cell(ip, "%segment refresh --all")
    assert any("sv_cycle" in o.data.get("text/plain", "") for o in out.outputs)
    target = tmp_path / "madrid.csv"
    _, out = cell(ip, f"%segment export sv_cycle {target}")
    assert f"exported {n:,} members of 'sv_cycle'" in out.stdout
    with open(target, newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == n
    _, out = cell(ip, "%segment delete sv_cycle")
    assert "deleted segment 'sv_cycle'" in out.stdout and "sv_cycle" not in ws.segments
    result, out = cell(ip, "%segment show sv_cycle")
    assert isinstance(result.error_in_exec, sj.CatalogError)
    assert "Traceback" not in out.stdout


def test_templates_are_listed(ip, ws):
    _, out = cell(ip, "%segment templates")
    assert out.outputs and len(ws.segments.templates()) > 0
    assert ws.segments.templates()["name"].iloc[0] in out.outputs[0].data["text/plain"]
