"""The ``%%segment`` and ``%segment`` IPython magics (modelled on jupysql's ``SqlMagic``).

>>> %load_ext segjupyter
>>> %segment use /tmp/demo-ws                    # or: ws = segjupyter.open(...) in the notebook
>>> %%segment vip --save
... city in ("Madrid", "Barcelona") and spend(last 12 months) >= :min_spend
>>> vip.count()

``%%segment [NAME] [flags]`` parses the cell in the segment language (``docs/segment-language.md``),
binds every ``:param`` to the notebook variable of that name (as a value, never as text),
assigns the :class:`~segjupyter.rules.segment.Segment` to ``NAME`` and shows it.
``%segment list | show | refresh | delete | export | fields | templates | use`` work on the
segment catalog and the workspace. Settings: ``%config SegmentMagic`` lists them.

**Errors.** A :class:`~segjupyter.errors.SegjupyterError` raised by any cell (a magic or plain
Python such as ``ws.segment("cty = 1")``) is shown as one message, ``SegmentSyntaxError: line 1,
column 1: unknown field 'cty' (did you mean 'city'?)`` followed by the source line and a caret,
instead of a traceback. It is still an *error*: the cell is marked failed, "Run all" and
papermill stop there, and ``%tb`` prints the full traceback. This uses IPython's
``set_custom_exc`` (installed by ``%load_ext segjupyter``; ``%config SegmentMagic.short_errors
= False`` restores normal tracebacks). Mistakes in the magic's own flags are IPython
``UsageError``s, which IPython also shows as one line.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import (Magics, line_cell_magic, magics_class, needs_local_scope,
                                no_var_expand)
from IPython.core.magic_arguments import MagicArgumentParser, argument, magic_arguments
from IPython.display import Code, display
from traitlets import Bool, Float, Int, TraitError, Unicode, observe, validate
from traitlets.config import Configurable

from .display import MembersView, SegmentView, catalog_table, error_lines, record_line
from .errors import CatalogError, SegjupyterError, SegmentSyntaxError, WorkspaceError

_LINE_USAGE = """\
%segment list                      saved segments
%segment show NAME                 one saved segment (rule, count, SQL)
%segment refresh NAME | --all      re-evaluate saved segments now
%segment refresh NAME --background queue it for the background worker; status updates live
%segment queue                     background refresh requests and their status
%segment delete NAME               remove a saved segment
%segment export NAME PATH          members of a saved segment to a CSV file
%segment fields                    the fields rules can use, with their operators and values
%segment templates                 ready-made rules to start from
%segment use PATH | VARIABLE       the workspace the magics work on
%%segment [NAME] [--save] ...      define a segment (%%segment? for the flags)"""


@magics_class
class SegmentMagic(Magics, Configurable):
    """Define, show and manage customer segments from a notebook.

    Settings (``%config SegmentMagic.<name> = value``): ``workspace`` (folder),
    ``as_of``, ``displaylimit``, ``autodisplay``, ``short_errors``, ``sql_timeout``,
    ``sql_memory_limit``.
    """

    workspace = Unicode("", config=True, help=(
        "Folder of the workspace the magics use. Empty: the one chosen with '%segment use', "
        "else the only Workspace variable of the notebook."))
    as_of = Unicode("", config=True, help=(
        "Evaluate segments as of this date or timestamp (YYYY-MM-DD[ HH:MM]); empty: the "
        "workspace's default instant. '--as-of' overrides it for one cell."))
    displaylimit = Int(10, config=True, help="Rows of members shown by '--members'.")
    autodisplay = Bool(True, config=True, help=(
        "Show the segment (count, share, rule, SQL) after each %%segment cell."))
    short_errors = Bool(True, config=True, help=(
        "Show segjupyter errors as one message instead of a traceback (%tb shows it)."))
    sql_timeout = Float(0.0, config=True, help=(
        "Seconds an advanced-SQL condition may run in this kernel before it is stopped; 0: "
        "the workspace setting 'sql_timeout' (default 30)."))
    sql_memory_limit = Unicode("", config=True, help=(
        "Memory an advanced-SQL condition may use in this kernel, e.g. '512MB'; empty: the "
        "workspace setting 'sql_memory_limit' (default 1GB)."))

    def __init__(self, shell):
        Configurable.__init__(self, config=shell.config)
        Magics.__init__(self, shell=shell)
        # so that %config SegmentMagic.x = ... reaches this instance (IPython >= 8.x's Magics
        # already does it; older ones do not)
        if self not in self.shell.configurables:
            self.shell.configurables.append(self)
        self._pinned = None  # Workspace chosen with "%segment use VARIABLE"
        self._opened: dict[str, object] = {}  # folder -> Workspace opened from a path
        self._set_error_handler(self.short_errors)

    # -- settings --------------------------------------------------------------------------
    @observe("workspace")
    def _workspace_changed(self, change) -> None:
        self._pinned = None

    @validate("sql_timeout", "sql_memory_limit")
    def _check_limit(self, proposal):
        from .rules.limits import check_memory, check_timeout
        value = proposal["value"]
        if value not in (0, 0.0, ""):
            try:
                (check_timeout if proposal["trait"].name == "sql_timeout" else check_memory)(value)
            except SegjupyterError as e:
                raise TraitError(str(e)) from None
        return value

    @observe("sql_timeout", "sql_memory_limit")
    def _limits_changed(self, change) -> None:
        from .rules.limits import set_limits
        set_limits(self.sql_timeout, self.sql_memory_limit)

    @observe("short_errors")
    def _short_errors_changed(self, change) -> None:
        self._set_error_handler(change["new"])

    def _set_error_handler(self, on: bool) -> None:
        current = getattr(self.shell, "custom_exceptions", ())
        if on:
            # never replace another extension's handler (IPython keeps only one)
            if not current or current == (SegjupyterError,):
                self.shell.set_custom_exc((SegjupyterError,), _show_short_error)
        elif current == (SegjupyterError,):
            self.shell.set_custom_exc((), None)

    # -- the workspace ---------------------------------------------------------------------
    def current_workspace(self):
        """The workspace the magics work on: ``%segment use``, else
        ``SegmentMagic.workspace``, else the only Workspace in the notebook's variables."""
        if self._pinned is not None:
            return self._pinned
        if self.workspace:
            return self._open_path(self.workspace)
        from .workspace import Workspace
        found: dict[int, list[str]] = {}
        objects = {}
        for var, value in self.shell.user_ns.items():
            if isinstance(value, Workspace) and not var.startswith("_"):
                found.setdefault(id(value), []).append(var)
                objects[id(value)] = value
        if len(found) == 1:
            return next(iter(objects.values()))
        if not found:
            raise WorkspaceError(
                "no workspace chosen: run '%segment use PATH' (or "
                "'%config SegmentMagic.workspace = \"PATH\"'), or open one in the notebook "
                "with ws = segjupyter.open(PATH)")
        names = ", ".join(sorted(v for vs in found.values() for v in vs))
        raise WorkspaceError(f"several workspaces in the notebook ({names}): pick one with "
                             "'%segment use NAME'")

    def _open_path(self, path: str):
        import segjupyter
        from .workspace.storage import RETAIL_FILE
        folder = Path(path).expanduser().resolve()
        key = str(folder)
        if key not in self._opened:
            if not (folder / RETAIL_FILE).exists():
                raise WorkspaceError(
                    f"no workspace at {folder} (create one with 'segjupyter demo {path}' or "
                    "segjupyter.open(path) and ws.load(...))")
            self._opened[key] = segjupyter.open(folder)
        return self._opened[key]

    # -- the magic -------------------------------------------------------------------------
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    @magic_arguments()
    @argument("name", nargs="?", help="Python variable (and catalog name) for the segment.")
    @argument("--save", action="store_true", help="Store the segment in the catalog.")
    @argument("--static", action="store_true",
              help="With --save: evaluate once and freeze the members (default: dynamic).")
    @argument("--inactive", action="store_true",
              help="With --save: store it inactive (not refreshed by refresh jobs).")
    @argument("--description", "-d", default=None, metavar="TEXT",
              help="With --save: a description for the catalog.")
    @argument("--as-of", dest="as_of", default=None, metavar="DATE",
              help="Evaluate as of this date (YYYY-MM-DD[ HH:MM]).")
    @argument("--sql", nargs="?", const="duckdb", default=None, metavar="DIALECT",
              help="Show the SQL (duckdb, postgres, spark, snowflake, bigquery, trino, ...) "
                   "instead of the summary.")
    @argument("--members", action="store_true",
              help="Also show the first SegmentMagic.displaylimit members.")
    def segment(self, line, cell=None, local_ns=None):
        """Define a segment (cell magic) or manage saved ones (line magic).

        ``%%segment [NAME] [flags]`` followed by a rule in the segment language; ``:name``
        values come from the notebook's variables.
        """
        if cell is None:
            return self._line(line, local_ns)
        return self._cell(line, cell, local_ns)

    segment.__doc__ += "\nLine forms::\n\n" + "\n".join(
        "  " + row for row in _LINE_USAGE.splitlines())

    def _cell(self, line: str, cell: str, local_ns) -> None:
        args = _parse(self.segment.parser, line)
        name = args.name
        if name is not None and not name.isidentifier():
            raise UsageError(f"segment name {name!r} is not a Python variable name (use "
                             "letters, digits and _)")
        if args.save and name is None:
            raise UsageError("--save needs a NAME: %%segment NAME --save")
        if (args.static or args.inactive or args.description) and not args.save:
            raise UsageError("--static, --inactive and --description go with --save")
        if args.sql is not None:
            _check_dialect(args.sql)
        as_of = args.as_of or self.as_of or None
        ws = self.current_workspace()
        if as_of is not None:
            ws.resolve_as_of(as_of)  # a clear error for a bad date, before any work

        from .rules import model
        from .rules.dsl import parse
        tree = parse(cell, registry=ws.fields)
        params = self._bind(cell, model.params_of(tree), local_ns, ws.fields)
        seg = ws.segment(tree, name=name, params=params)
        seg.validate()
        if name is not None:
            self.shell.user_ns[name] = seg

        if args.save:
            self._save(ws, seg, args, as_of)
        if args.sql is not None:
            display(Code(seg.sql(dialect=args.sql, as_of=as_of), language="sql"))
        elif self.autodisplay:
            display(seg if as_of is None else SegmentView(seg, as_of))
        if args.members:
            self._show_members(seg, as_of)

    def _save(self, ws, seg, args, as_of) -> None:
        """Store ``seg`` (a new segment, or a new version of the saved one: re-running a cell
        updates it) and evaluate it now, as of ``as_of``."""
        cat, name = ws.segments, seg.name
        kind = "static" if args.static else "dynamic"
        if name in cat:
            old = cat.info(name)
            if old.kind != kind:
                raise CatalogError(f"segment {name!r} is saved as {old.kind}; delete it "
                                   f"(%segment delete {name}) to save it as {kind}")
            cat.update(name, seg, params=seg.params, description=args.description)
            if old.active == args.inactive:
                (cat.deactivate if args.inactive else cat.activate)(name)
            verb = "updated"
        else:
            cat.save(seg, name=name, kind=kind, active=not args.inactive,
                     description=args.description or "")
            verb = "saved"
        record = cat.info(name)
        state = f"{kind}, {record.status}"
        if args.inactive or record.locked:
            print(f"{verb} segment {name!r} ({state})")
            return
        run = cat.refresh(name, as_of=as_of)
        print(f"{verb} segment {name!r} ({kind}): {run['customers']:,} customers "
              f"(+{run['entered']:,} entered, -{run['left']:,} left) as of "
              f"{run['as_of']:%Y-%m-%d %H:%M}")

    def _bind(self, cell: str, names: set[str], local_ns, registry) -> dict:
        """Values of the ``:params`` from the notebook's variables (bound as values, never
        spliced into the text). A missing one is a syntax error pointing at its use."""
        spaces = [ns for ns in (local_ns, self.shell.user_ns) if ns is not None]
        params = {}
        for n in sorted(names):
            for ns in spaces:
                if n in ns:
                    params[n] = ns[n]
                    break
        if len(params) < len(names):
            from .rules.dsl import parse
            try:
                parse(cell, registry=registry, params=params)
            except SegmentSyntaxError as e:
                name = (e.token or "").lstrip(":")
                raise SegmentSyntaxError(
                    f"no value for :{name}: define the variable {name} in the notebook before "
                    "this cell", line=e.line, column=e.column, token=e.token, text=e.text,
                    suggestion=e.suggestion) from None
            missing = sorted(set(names) - set(params))  # not reached: parse names them
            raise SegmentSyntaxError(f"no value for :{missing[0]}")
        return params

    def _show_members(self, seg, as_of) -> None:
        frame = seg.members(as_of=as_of)
        display(MembersView(frame, len(frame), seg.name, self.displaylimit))

    # -- line commands ---------------------------------------------------------------------
    def _line(self, line: str, local_ns) -> None:
        if not line.strip():
            print(_LINE_USAGE)
            return
        try:
            args = _parse(_line_parser(), line)
        except UsageError as e:
            raise UsageError(f"%segment {line.split()[0]}: {e}\n{_LINE_USAGE}") from None
        cmd = args.command
        if cmd == "use":
            self._use(args.target, local_ns)
            return
        ws = self.current_workspace()
        if cmd == "list":
            table = catalog_table(ws.segments.list())
            if table.empty:
                print("no saved segments yet: %%segment NAME --save")
            else:
                display(table)
        elif cmd == "show":
            record = ws.segments.info(args.name)
            print(record_line(record))
            seg = ws.segments.get(args.name)
            as_of = self.as_of or None
            display(seg if as_of is None else SegmentView(seg, as_of))
        elif cmd == "refresh":
            self._refresh(ws, args)
        elif cmd == "delete":
            ws.segments.delete(args.name)
            print(f"deleted segment {args.name!r}")
        elif cmd == "export":
            path = Path(args.path).expanduser()
            rows = ws.segments.export_csv(args.name, path)
            print(f"exported {rows:,} members of {args.name!r} to {path}")
        elif cmd == "fields":
            display(ws.fields.describe())
        elif cmd == "templates":
            display(ws.segments.templates())
        elif cmd == "queue":
            display(ws.segments.queue())

    def _refresh(self, ws, args) -> None:
        if args.all == bool(args.name):
            raise UsageError("refresh needs a NAME or --all (not both)")
        as_of = self.as_of or None
        if args.background:
            self._refresh_background(ws, args, as_of)
            return
        if args.all:
            display(ws.segments.refresh_all(as_of=as_of))
            return
        run = ws.segments.refresh(args.name, as_of=as_of)
        print(f"refreshed {args.name!r}: {run['customers']:,} customers "
              f"(+{run['entered']:,} entered, -{run['left']:,} left) as of "
              f"{run['as_of']:%Y-%m-%d %H:%M} in {run['duration_s']:.2f} s")

    def _refresh_background(self, ws, args, as_of) -> None:
        """Queue the refresh for the worker process and show a status that updates live."""
        cat = ws.segments
        if args.all:
            from .segments.refresh import plan
            names = [t.name for t in plan(cat._records(), None)]
            if not names:
                print("nothing to refresh (no due segment)")
                return
        else:
            names = [args.name]
        requests = cat.queue_refresh(names, as_of=as_of)
        from .widgets.refresh_status import RefreshStatus
        display(RefreshStatus(ws, requests))

    def _use(self, target: str, local_ns) -> None:
        value = None
        for ns in (local_ns, self.shell.user_ns):
            if ns is not None and target.isidentifier() and target in ns:
                value = ns[target]
                break
        from .workspace import Workspace
        if isinstance(value, Workspace):
            self._pinned = value
            ws = value
        else:
            path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else target
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise UsageError(f"{target} is a {type(value).__name__}, not a Workspace or "
                                 "a path")
            ws = self._open_path(path)
            self.workspace = str(Path(path).expanduser().resolve())
            self._pinned = None
        print(f"using workspace {ws.path}")


def _line_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%segment", add_help=False,
                                 usage=_LINE_USAGE.replace("%", "%%"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("list")
    sub.add_parser("show").add_argument("name")
    refresh = sub.add_parser("refresh")
    refresh.add_argument("name", nargs="?")
    refresh.add_argument("--all", action="store_true")
    refresh.add_argument("--background", action="store_true")
    sub.add_parser("delete").add_argument("name")
    export = sub.add_parser("export")
    export.add_argument("name")
    export.add_argument("path")
    sub.add_parser("fields")
    sub.add_parser("templates")
    sub.add_parser("queue")
    sub.add_parser("use").add_argument("target", metavar="PATH|VARIABLE")
    return parser


def _parse(parser: MagicArgumentParser, line: str):
    """Parse magic arguments the way a shell would: quotes group words and are removed
    (``--description "Top buyers"``)."""
    try:
        argv = shlex.split(line)
    except ValueError as e:  # an unclosed quote
        raise UsageError(f"cannot read the arguments {line!r}: {e}") from None
    return parser.parse_args(argv)


def _check_dialect(dialect: str) -> None:
    import sqlglot
    try:
        sqlglot.Dialect.get_or_raise(dialect)
    except ValueError as e:
        raise UsageError(f"--sql: {e}") from None


def _show_short_error(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: one readable message instead of a traceback.

    The cell still fails (the kernel's execute reply is an error, papermill stops) and
    ``%tb`` prints the full traceback."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    stb = error_lines(value)
    shell._showtraceback(etype, value, stb)  # the kernel's hook: sends an "error" message
    return stb


def load_ipython_extension(ip) -> None:
    """Register :class:`SegmentMagic` (``%load_ext segjupyter``)."""
    for existing in ip.configurables:
        if isinstance(existing, SegmentMagic):  # loading twice keeps one instance
            return
    ip.register_magics(SegmentMagic(ip))


def unload_ipython_extension(ip) -> None:
    """Remove the magics, their settings target and the short-error handler."""
    for existing in list(ip.configurables):
        if isinstance(existing, SegmentMagic):
            existing._set_error_handler(False)
            ip.configurables.remove(existing)
    manager = ip.magics_manager
    if isinstance(manager.registry.get("SegmentMagic"), SegmentMagic):
        del manager.registry["SegmentMagic"]
        for kind in ("line", "cell"):
            manager.magics[kind].pop("segment", None)
