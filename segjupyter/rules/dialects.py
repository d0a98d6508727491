"""Printing a compiled query for another SQL engine, as one self-contained statement.

The compiler builds one sqlglot tree and sqlglot's generators translate its functions and
types per dialect. The few constructs a generator prints in a form its engine lacks are
rewritten here, on a copy of the tree, just before printing:

* ``ENDS_WITH(s, x)``: PostgreSQL and Trino have no such function; it becomes
  ``STARTS_WITH(REVERSE(s), REVERSE(x))``, which both have.
* Timestamps on Spark: the workspace's timestamps are wall-clock times without a zone, and
  Spark's ``TIMESTAMP`` is zoned (a wall time in a daylight-saving gap would move), so casts
  and literals become ``TIMESTAMP_NTZ``, the type Spark reads such Parquet columns as.

>>> to_sql(query, "postgres")
"""

from __future__ import annotations

from sqlglot import exp

#: The dialects ``Segment.sql`` is tested on; any other sqlglot dialect prints too.
DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery", "trino")

_NO_ENDS_WITH = {"postgres", "trino"}
_NTZ = {"spark", "databricks"}


def portable(expression: exp.Expression, dialect: str) -> exp.Expression:
    """A copy of ``expression`` rewritten where ``dialect`` needs it (see the module)."""
    dialect = (dialect or "duckdb").lower()
    if dialect not in _NO_ENDS_WITH and dialect not in _NTZ:
        return expression

    def rewrite(node: exp.Expression) -> exp.Expression:
        if dialect in _NO_ENDS_WITH and isinstance(node, exp.EndsWith):
            return exp.StartsWith(this=exp.Reverse(this=node.this),
                                  expression=exp.Reverse(this=node.expression))
        if dialect in _NTZ and isinstance(node, exp.TimeStrToTime) and not node.args.get("zone"):
            return exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMPNTZ"))
        if dialect in _NTZ and isinstance(node, exp.DataType) and \
                node.this == exp.DataType.Type.TIMESTAMP:
            return exp.DataType.build("TIMESTAMPNTZ")
        return node

    return expression.copy().transform(rewrite, copy=False)


def to_sql(expression: exp.Expression, dialect: str = "duckdb", pretty: bool = False) -> str:
    """``expression`` printed for ``dialect``, after :func:`portable`."""
    return portable(expression, dialect).sql(dialect=dialect, pretty=pretty)
