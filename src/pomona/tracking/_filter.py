"""The run filter language, compiled to SQL.

    metrics.accuracy > 0.9 and params.model = 'rf'
    (tags.team = "vision" or name like 'apples-%') and status != 'failed'

Fields: ``metrics.<key>`` (latest value), ``params.<key>``, ``tags.<key>``, and the
attributes ``name``, ``status``, ``experiment``, ``run_id``, ``parent_run_id``,
``start_ms``, ``end_ms``. Keys with special characters go in backticks.
Operators: ``= != < <= > >=``, ``like``, ``in (…)``, ``is null``, ``is not null``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from pomona.errors import InvalidInputError
from pomona.metadata.schema import latest_metrics, params, runs, tags

__all__ = ["ATTRIBUTES", "compile_filter", "parse_field"]

ATTRIBUTES = {
    "name": runs.c.name,
    "status": runs.c.status,
    "experiment": runs.c.experiment,
    "run_id": runs.c.run_id,
    "parent_run_id": runs.c.parent_run_id,
    "start_ms": runs.c.start_ms,
    "end_ms": runs.c.end_ms,
}
_OPS = ("<=", ">=", "!=", "=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),])"
    r"|(?P<field>(?:metrics|params|tags|attributes)\.(?:`[^`]+`|[\w\-./:]+)|[A-Za-z_]\w*))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _error(text, pos, "unexpected character")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


def _error(text: str, pos: int, what: str) -> InvalidInputError:
    return InvalidInputError(
        f"Bad run filter at character {pos + 1}: {what}: {text[:pos]}⟨here⟩{text[pos:]}",
        hint="Example: metrics.accuracy > 0.9 and params.model = 'rf'",
        details={"field": "filter", "position": pos},
    )


def parse_field(field: str) -> tuple[str, str]:
    """Split ``metrics.acc`` into ``("metrics", "acc")``; a bare name is an attribute."""
    if "." in field and field.split(".", 1)[0] in ("metrics", "params", "tags", "attributes"):
        kind, key = field.split(".", 1)
        key = key[1:-1] if key.startswith("`") and key.endswith("`") else key
        return kind, key
    return "attributes", field


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _next(self, what: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise _error(self.text, len(self.text), f"expected {what}")
        self.i += 1
        return tok

    def _word(self, word: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "field" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> ColumnElement[bool]:
        expr = self._or()
        tok = self._peek()
        if tok is not None:
            raise _error(self.text, tok.pos, f"unexpected '{tok.text}'")
        return expr

    def _or(self) -> ColumnElement[bool]:
        parts = [self._and()]
        while self._word("or"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def _and(self) -> ColumnElement[bool]:
        parts = [self._atom()]
        while self._word("and"):
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def _atom(self) -> ColumnElement[bool]:
        tok = self._next("a condition")
        if tok.kind == "punct" and tok.text == "(":
            expr = self._or()
            close = self._next("')'")
            if close.text != ")":
                raise _error(self.text, close.pos, "expected ')'")
            return expr
        if self._word_tok(tok, "not"):
            return not_(self._atom())
        if tok.kind != "field":
            raise _error(self.text, tok.pos, "expected a field such as metrics.accuracy")
        return self._comparison(tok)

    @staticmethod
    def _word_tok(tok: _Tok, word: str) -> bool:
        return tok.kind == "field" and tok.text.lower() == word

    def _value(self) -> str | float:
        tok = self._next("a value")
        if tok.kind == "num":
            return float(tok.text)
        if tok.kind == "str":
            return bytes(tok.text[1:-1], "utf-8").decode("unicode_escape")
        raise _error(self.text, tok.pos, "expected a number or a quoted string")

    def _comparison(self, field_tok: _Tok) -> ColumnElement[bool]:
        kind, key = parse_field(field_tok.text)
        if kind == "attributes" and key not in ATTRIBUTES:
            raise _error(
                self.text, field_tok.pos, f"unknown field '{key}' (one of {sorted(ATTRIBUTES)})"
            )
        if self._word("is"):
            negate = self._word("not")
            if not self._word("null"):
                raise _error(self.text, self.i, "expected 'null'")
            cond = _condition(kind, key, "is", None)
            return not_(cond) if negate else cond
        if self._word("in"):
            if self._next("'('").text != "(":
                raise _error(self.text, field_tok.pos, "expected '(' after 'in'")
            values = [self._value()]
            while (tok := self._next("')'")).text == ",":
                values.append(self._value())
            if tok.text != ")":
                raise _error(self.text, tok.pos, "expected ')'")
            return or_(*(_condition(kind, key, "=", v) for v in values))
        if self._word("like"):
            return _condition(kind, key, "like", self._value())
        op = self._next("an operator")
        if op.kind != "op":
            raise _error(self.text, op.pos, f"expected one of {' '.join(_OPS)} like in is")
        value = self._value()
        if kind == "metrics" and not isinstance(value, float):
            raise _error(self.text, op.pos, f"metrics.{key} is compared with a number")
        if kind in ("params", "tags") and op.text not in ("=", "!="):
            raise _error(self.text, op.pos, f"{kind} are text: compare them with = != like in")
        return _condition(kind, key, op.text, value)


def _compare(col: ColumnElement[object], op: str, value: str | float | None) -> ColumnElement[bool]:
    if op == "is":
        return col.is_(None)
    if op == "like":
        return col.like(str(value))
    return {
        "=": col == value,
        "!=": col != value,
        "<": col < value,
        "<=": col <= value,
        ">": col > value,
        ">=": col >= value,
    }[op]


def _condition(kind: str, key: str, op: str, value: str | float | None) -> ColumnElement[bool]:
    if kind == "attributes":
        col = ATTRIBUTES[key]
        if key in ("start_ms", "end_ms") and isinstance(value, float):
            value = int(value)
        return _compare(col, op, value)
    table = {"metrics": latest_metrics, "params": params, "tags": tags}[kind]
    if op == "is":  # no row for that key
        return not_(exists().where(table.c.run_pk == runs.c.pk, table.c.key == key))
    sub = select(table.c.run_pk).where(
        table.c.run_pk == runs.c.pk, table.c.key == key, _compare(table.c.value, op, value)
    )
    return exists(sub)


def compile_filter(text: str | None) -> ColumnElement[bool] | None:
    """The SQL condition on ``runs`` for a filter string (``None`` for an empty filter)."""
    if text is None or not text.strip():
        return None
    if len(text) > 4000:
        raise InvalidInputError("A run filter may have at most 4000 characters.")
    cond = _Parser(text).parse()
    return cond if cond is not None else false()
