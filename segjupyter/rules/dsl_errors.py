"""Turn a failed parse of ``%%segment`` text into one readable :class:`SegmentSyntaxError`.

Lark reports the offending token and the terminals it wanted; this module replays the parse
token by token (lark's interactive parser) to know the token before the failure, the open
parentheses and what each state accepts, and says it in words: "expected a value after
'>=', found 'and'", "missing ')' to close the '(' at line 1, column 7", "unknown metric
'spnd' (did you mean 'spend'?)".
"""

from __future__ import annotations

import difflib

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken

from ..errors import SegmentSyntaxError
from .model import METRICS

FUNCTIONS = tuple(METRICS) + ("in_segment", "sql")
_VALUES = {"STRING", "INT", "DECIMAL", "RELDATE", "TODAY", "START", "END", "TRUE", "FALSE",
           "PARAM"}
_CONDITION_STARTS = {"NAME", "QUOTED_NAME", "METRIC", "BOUGHT", "EVENTS", "IN_SEGMENT",
                     "SQL", "DERIVED", "PREDICTED", "NOT", "LPAR"}
_FIELD_OPERATORS = {"CMP", "IN", "NOT", "BETWEEN", "CONTAINS", "STARTS", "ENDS", "IS"}
_UNITS = {"DAY", "WEEK", "MONTH", "YEAR"}
_WINDOW_STARTS = {"ALL", "LAST", "THIS", "SINCE", "BETWEEN"}

#: Words a misspelt keyword is compared with, per terminal.
_KEYWORD_WORDS = {
    "AND": ("and",), "OR": ("or",), "NOT": ("not", "not in", "not contains"),
    "IN": ("in",), "BETWEEN": ("between",), "IGNORE": ("ignore year",),
    "CONTAINS": ("contains",), "STARTS": ("starts with",), "ENDS": ("ends with",),
    "WITH": ("with",), "IS": ("is", "is null", "is not null"), "NULL": ("null",),
    "TRUE": ("true",), "FALSE": ("false",), "ALL": ("all time",), "TIME": ("time",),
    "LAST": ("last",), "THIS": ("this",), "SINCE": ("since",), "TODAY": ("today",),
    "START": ("start",), "END": ("end",), "OF": ("of",),
    "DAY": ("day", "days"), "WEEK": ("week", "weeks"), "MONTH": ("month", "months"),
    "YEAR": ("year", "years"),
}
_ORDER = ["AND", "OR", "COMMA", "RPAR", "$END"]  # listed last, in this order
_WORDS = {
    "AND": "'and'", "OR": "'or'", "NOT": "'not'", "IN": "'in'", "BETWEEN": "'between'",
    "IGNORE": "'ignore year'", "CONTAINS": "'contains'", "STARTS": "'starts with'",
    "ENDS": "'ends with'", "WITH": "'with'", "IS": "'is'", "NULL": "'null'", "TRUE": "'true'",
    "FALSE": "'false'", "ALL": "'all time'", "TIME": "'time'", "LAST": "'last'",
    "THIS": "'this'", "SINCE": "'since'", "TODAY": "'today'", "START": "'start of'",
    "END": "'end of'", "OF": "'of'", "DAY": "'days'",
    "WEEK": "'weeks'", "MONTH": "'month'", "YEAR": "'year'",
    "METRIC": "a metric", "BOUGHT": "'bought'", "EVENTS": "'events'",
    "IN_SEGMENT": "'in_segment'", "SQL": "'sql'", "DERIVED": "a derived field",
    "PREDICTED": "a predicted field",
    "NAME": "a field name", "QUOTED_NAME": "a field name", "PARAM": "a :parameter",
    "STRING": "a string", "INT": "a whole number", "DECIMAL": "a number",
    "RELDATE": "a relative date", "CMP": "a comparison (=, !=, <, <=, >, >=)",
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "$END": "the end of the text",
}


def _close(word: str, candidates, cutoff: float = 0.6) -> str | None:
    match = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def _show(tok: Token) -> str:
    text = str(tok)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def describe(accepts: set[str]) -> str:
    """What a parser state accepts, in words: "a value", "an operator ... or 'and'"."""
    left = set(accepts)
    phrases: list[str] = []

    def take(group: set[str], phrase: str) -> None:
        nonlocal left
        phrases.append(phrase)
        left -= group

    if "METRIC" in left and "NAME" in left:
        take(_CONDITION_STARTS, "a condition")
    elif "NAME" in left:
        take({"NAME", "QUOTED_NAME"}, "a field name")
    if left & _WINDOW_STARTS == _WINDOW_STARTS:
        take(_WINDOW_STARTS, "a time window (last 6 months, this year, since \"2025-01-01\", …)")
    if {"CMP", "CONTAINS", "IS"} <= left:
        take(_FIELD_OPERATORS, "an operator (=, !=, <, <=, >, >=, in, not in, between, "
                               "contains, starts with, ends with, is null, is true, …)")
    elif {"CMP", "IS"} <= left:
        take({"CMP", "BETWEEN", "IS"}, "a comparison (=, !=, <, <=, >, >=, between, is null)")
    if {"STRING", "INT", "TRUE"} <= left:
        take(_VALUES, "a value")
    elif left & _VALUES == {"STRING", "PARAM"} and "NAME" not in accepts:
        take({"STRING", "PARAM"}, 'a date ("YYYY-MM-DD") or a :parameter')
    if left >= _UNITS:
        take(_UNITS, "a unit (days, weeks, months, years)")
    for t in sorted(left, key=lambda t: (_ORDER.index(t) + 1 if t in _ORDER else 0, t)):
        word = _WORDS.get(t, t.lower())
        if word not in phrases:
            phrases.append(word)
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _keyword_words(accepts: set[str]) -> list[str]:
    return [w for t in accepts for w in _KEYWORD_WORDS.get(t, ())]


def explain(text: str, parser: Lark) -> SegmentSyntaxError:
    """Replay the parse of ``text`` (which fails) and describe the first error."""
    ip = parser.parse_interactive(text)
    tokens = ip.lexer_thread.lex(ip.parser_state)
    history: list[Token] = []
    before: list = []  # parser state before each token of history
    opened: list[Token] = []
    state = ip.copy()
    try:
        while True:
            state = ip.copy()
            try:
                tok = next(tokens)
            except StopIteration:
                break
            ip.feed_token(tok)
            history.append(tok)
            before.append(state)
            if tok.type == "LPAR":
                opened.append(tok)
            elif tok.type == "RPAR" and opened:
                opened.pop()
        state = ip.copy()
        last = history[-1] if history else None
        end = Token("$END", "", len(text), last.end_line if last else 1,
                    last.end_column if last else 1)
        ip.feed_token(end)
    except UnexpectedCharacters as e:
        return _bad_character(text, e)
    except UnexpectedToken as e:
        return _unexpected(text, e.token, state.accepts(), history, before, opened)
    except LarkError as e:  # not expected; never let a lark error out
        return SegmentSyntaxError(f"the text does not parse: {e}", text=text)
    return SegmentSyntaxError("the text does not parse", text=text)


def _error(text: str, message: str, tok: Token | None, suggestion: str | None = None,
           token: str | None = None) -> SegmentSyntaxError:
    return SegmentSyntaxError(
        message, line=getattr(tok, "line", 1), column=getattr(tok, "column", 1),
        token=str(tok) if token is None and tok is not None and tok.type != "$END" else token,
        suggestion=suggestion, text=text)


def _unexpected(text, tok: Token, accepts: set[str], history: list[Token], before: list,
                opened: list[Token]) -> SegmentSyntaxError:
    prev = history[-1] if history else None
    at_end = tok.type == "$END"
    found = "the end of the text" if at_end else _show(tok)

    # spnd(last 6 months) > 3: a name used like a function.
    if tok.type == "LPAR" and prev is not None and prev.type == "NAME":
        sug = _close(prev.value, FUNCTIONS)
        if sug is not None and sug.lower() == prev.value.lower():
            # a real metric where only a purchase field fits: bought(bought(...))
            return _error(text, f"{prev.value!r} cannot be used here: a metric starts a "
                                "condition, and inside a behaviour's parentheses only "
                                "purchase-field filters and the time window fit", prev)
        msg = f"unknown metric or function {prev.value!r}"
        if not sug:
            msg += f"; the metrics are {', '.join(METRICS)}, and in_segment, sql"
        return _error(text, msg, prev, sug)

    # spend(lst 6 months): a misspelt keyword read as a field name.
    if prev is not None and prev.type == "NAME" and before:
        sug = _close(prev.value, _keyword_words(before[-1].accepts()))
        if sug:
            return _error(text, f"unexpected word {prev.value!r}", prev, sug)

    expected = describe(accepts)
    if prev is not None and prev.type == "IN" and "LPAR" in accepts and "LAST" in accepts:
        expected = ('a list like ("a", "b"), a :parameter or, after a date field, a time '
                    "window (last 6 months, this year, last month, …)")
    after = f" after {_show(prev)}" if prev is not None else ""
    msg = f"expected {expected}{after}, found {found}"
    sug = None
    if tok.type == "NAME":
        sug = _close(tok.value, _keyword_words(accepts))
        if sug is None and prev is not None and prev.type == "IN":
            sug = '("' + tok.value + '")'
            msg += " (a list is written in parentheses, text values in quotes)"
        elif sug is None and accepts & _VALUES and "NAME" not in accepts:
            sug = '"' + tok.value + '"'
            msg += " (text values need quotes)"
    if tok.type in ("RELDATE", "START", "END") and accepts & _VALUES == {"STRING", "PARAM"}:
        msg += (" (for a window relative to as_of, write 'last N days', 'this month' or "
                "'this year')")
    if tok.type in _WINDOW_STARTS and "COMMA" in accepts:
        msg += " (put a ',' between the filter and the time window)"
    if at_end and "RPAR" in accepts and opened:
        o = opened[-1]
        msg = f"missing ')' to close the '(' at line {o.line}, column {o.column}"
    return _error(text, msg, tok, sug)


def _bad_character(text: str, e: UnexpectedCharacters) -> SegmentSyntaxError:
    pos, char = e.pos_in_stream, e.char
    line, column = e.line, e.column
    if char in "\"'":
        if text[max(pos - 2, 0):pos + 1] == char * 3:
            column -= 2
            pos -= 2
        rest = text[pos:].split("\n", 1)[0]
        return SegmentSyntaxError(
            "unterminated string (a quoted string ends on its own line; use triple quotes "
            "for text over several lines)", line=line, column=column,
            token=rest[:30], text=text)
    if char == "`":
        return SegmentSyntaxError("unterminated quoted name", line=line, column=column,
                                  token=text[pos:].split("\n", 1)[0][:30], text=text)
    two = text[pos:pos + 2]
    sug = {"&&": "and", "||": "or"}.get(two) or {"&": "and", "|": "or", "!": "not"}.get(char)
    return SegmentSyntaxError(f"unexpected character {char!r}", line=line, column=column,
                              token=char, suggestion=sug, text=text)
