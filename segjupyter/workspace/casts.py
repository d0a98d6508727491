"""SQL that turns a source column of any type into a canonical column type.

Each function returns a DuckDB expression that yields NULL when a value cannot be read, so
that validation can compare it with whether a value was given at all (:func:`present`) and
report the row instead of failing the whole load.
"""

from __future__ import annotations

INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def family(src_type: str) -> str:
    """Coarse family of a DuckDB type: int, float, text, timestamptz, timestamp, date,
    bool, list, enum, nested or other."""
    t = src_type.upper()
    if t in INT_TYPES:
        return "int"
    if t in FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t == "VARCHAR" or t.startswith("VARCHAR("):
        return "text"
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t == "BOOLEAN":
        return "bool"
    if t.endswith("[]") or t.startswith("LIST"):
        return "list"
    if t.startswith("ENUM"):
        return "enum"
    if t.startswith(("STRUCT", "MAP", "UNION", "JSON")):
        return "nested"
    return "other"


def value(col: str, src_type: str) -> str:
    """The column with empty / blank text treated as missing."""
    return f"NULLIF(trim({col}), '')" if family(src_type) == "text" else col


def present(col: str, src_type: str) -> str:
    """True where the source row has a value in ``col``."""
    return f"({value(col, src_type)} IS NOT NULL)"


def to_type(col: str, src_type: str, target: str, tz: str, *, trim: bool = True) -> str:
    """Expression reading ``col`` (of DuckDB type ``src_type``) as ``target``.

    ``trim=False`` keeps the spaces of free text (only empty text becomes NULL): trimming
    millions of long strings costs more than it is worth."""
    fam = family(src_type)
    if target == "VARCHAR" and fam == "text" and not trim:
        return f"NULLIF({col}, '')"
    v = value(col, src_type)
    zone = "'" + tz.replace("'", "''") + "'"
    if target == "BIGINT" or target == "INTEGER":
        if fam == "int":
            return f"TRY_CAST({col} AS {target})"
        if fam == "float":
            return f"CASE WHEN {col} = trunc({col}) THEN TRY_CAST({col} AS {target}) END"
        if fam == "text":
            # TRY_CAST('2.5' AS INTEGER) rounds to 3: accept whole numbers only
            d = f"TRY_CAST({v} AS DOUBLE)"
            if target == "BIGINT":
                return (f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') "
                        f"THEN TRY_CAST({v} AS BIGINT) END")
            return f"CASE WHEN {d} = trunc({d}) THEN TRY_CAST({d} AS INTEGER) END"
        return f"TRY_CAST({col} AS {target})"
    if target == "VARCHAR":
        if fam == "text":
            return v
        if fam == "float":  # ids read as floats (pandas NaN) keep their integer spelling
            return (f"CASE WHEN {col} = trunc({col}) THEN CAST(TRY_CAST({col} AS BIGINT) "
                    f"AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
        if fam == "nested":
            return f"CAST(to_json({col}) AS VARCHAR)"
        if fam == "timestamptz":
            return f"CAST(timezone({zone}, {col}) AS VARCHAR)"
        return f"CAST({col} AS VARCHAR)"
    if target.startswith("DECIMAL") or target == "DOUBLE":
        return f"TRY_CAST({v} AS {target})"
    if target == "DATE":
        if fam == "date":
            return col
        if fam == "timestamptz":
            return f"CAST(timezone({zone}, {col}) AS DATE)"
        return f"TRY_CAST({v} AS DATE)"
    if target == "TIMESTAMP":
        if fam == "timestamptz":
            return f"timezone({zone}, {col})"
        return f"TRY_CAST({v} AS TIMESTAMP)"
    if target == "BOOLEAN":
        if fam == "bool":
            return col
        if fam in ("int", "float"):
            return f"({col} <> 0)"
        if fam == "text":
            return (f"CASE WHEN lower({v}) IN {TRUE_WORDS} THEN true "
                    f"WHEN lower({v}) IN {FALSE_WORDS} THEN false END")
        return f"TRY_CAST({col} AS BOOLEAN)"
    if target == "VARCHAR[]":
        if fam == "list":
            return f"TRY_CAST({col} AS VARCHAR[])"
        if fam == "text":
            # "a|b|c", "a,b" or "[a, b]"
            split = (f"string_split({v}, CASE WHEN contains({v}, '|') THEN '|' ELSE ',' END)")
            return (f"CASE WHEN starts_with({v}, '[') THEN TRY_CAST({v} AS VARCHAR[]) ELSE "
                    f"list_filter(list_transform({split}, lambda x: trim(x)), "
                    f"lambda x: x <> '') END")
        return f"[CAST({col} AS VARCHAR)]"
    return f"TRY_CAST({col} AS {target})"


def custom_type(src_type: str) -> str | None:
    """Type to give a custom field read from a typed source (DataFrame, Parquet, DuckDB);
    None keeps the source type."""
    fam = family(src_type)
    if fam == "enum":
        return "VARCHAR"
    if fam == "timestamptz":
        return "TIMESTAMP"
    return None


#: Types tried, in order, for a custom field read from text (CSV); the first that reads
#: every non-empty value wins, VARCHAR otherwise.
TEXT_INFERENCE = ("BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN")


def fits(v: str, target: str) -> str:
    """Aggregate SQL: does every non-NULL ``v`` read as ``target``? (NULL when none)."""
    if target == "BIGINT":  # round trip, so "007" stays text
        cond = f"coalesce(CAST(TRY_CAST({v} AS BIGINT) AS VARCHAR) = {v}, false)"
    elif target == "DOUBLE":  # zero-padded codes ("007") stay text
        cond = (f"TRY_CAST({v} AS DOUBLE) IS NOT NULL "
                f"AND NOT regexp_full_match({v}, '[+-]?0[0-9]+')")
    elif target == "DATE":  # a pure date; "2024-01-05 10:00" is a timestamp
        cond = (f"regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') "
                f"AND TRY_CAST({v} AS DATE) IS NOT NULL")
    elif target == "BOOLEAN":
        cond = f"lower({v}) IN {TRUE_WORDS + FALSE_WORDS}"
    else:
        cond = f"TRY_CAST({v} AS {target}) IS NOT NULL"
    return f"bool_and({cond}) FILTER (WHERE {v} IS NOT NULL)"
