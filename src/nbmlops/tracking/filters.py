"""The run filter language, parsed into SQLAlchemy expressions (never string-built SQL).

Grammar (keywords are case-insensitive)::

    filter     := disjunct ('or' disjunct)*
    disjunct   := term ('and' term)*
    term       := 'not' term | '(' filter ')' | comparison
    comparison := field op value | field ['not'] 'in' '(' value (',' value)* ')'
                | field ['not'] ('like' | 'ilike') string
    field      := namespace '.' name      namespace: params | metrics | tags | attributes
    op         := = | == | != | <> | < | <= | > | >=

Names with spaces or dots go in backticks: ``metrics.`val loss` < 0.3``.
Metrics compare their latest value (highest step). Params compare as numbers
when the value is a number and as text otherwise.

Example:
    >>> parse("metrics.accuracy > 0.8")
    Cmp('metrics', 'accuracy', '>', 0.8)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true
from sqlalchemy.sql import Select

from ..errors import InvalidInput
from ..store.meta import latest_metrics, params, runs, tags

NAMESPACES = {
    "params": "params",
    "param": "params",
    "p": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "m": "metrics",
    "tags": "tags",
    "tag": "tags",
    "t": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "a": "attributes",
}
ATTRIBUTES = {
    "id": runs.c.id,
    "name": runs.c.name,
    "status": runs.c.status,
    "kind": runs.c.kind,
    "user": runs.c.username,
    "host": runs.c.host,
    "parent_id": runs.c.parent_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "duration": runs.c.end_time - runs.c.start_time,
}
_TIME_ATTRIBUTES = {"start_time", "end_time"}
_OPS = {"=", "==", "!=", "<>", "<", "<=", ">", ">="}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<field>(?:[A-Za-z_][\w\-:/]*|`[^`]+`)(?:\.(?:[A-Za-z_0-9][\w\-:/]*|`[^`]+`))*)
    )""",
    re.VERBOSE,
)


@dataclasses.dataclass(frozen=True)
class Cmp:
    namespace: str
    key: str
    op: str
    value: Any

    def __repr__(self) -> str:
        return f"Cmp({self.namespace!r}, {self.key!r}, {self.op!r}, {self.value!r})"


@dataclasses.dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclasses.dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclasses.dataclass(frozen=True)
class Not:
    inner: Any


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = pos + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise _error(text, bad, f"unexpected character {text[bad]!r}")
        kind = m.lastgroup or ""
        start = m.start(kind)
        out.append(_Tok(kind, m.group(kind), start))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


def _error(text: str, pos: int, what: str) -> InvalidInput:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidInput(f"The filter {shown!r} has a syntax error at position {pos + 1}: {what}.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def keyword(self, *words: str) -> bool:
        t = self.tok
        if t.kind == "field" and t.text.lower() in words:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str) -> None:
        if self.tok.kind == "punct" and self.tok.text == ch:
            self.i += 1
            return
        raise _error(self.text, self.tok.pos, f"expected {ch!r}")

    def parse(self) -> Any:
        node = self.disjunction()
        if self.tok.kind != "end":
            raise _error(
                self.text, self.tok.pos, f"expected 'and', 'or' or the end, found {self.tok.text!r}"
            )
        return node

    def disjunction(self) -> Any:
        node = self.conjunction()
        while self.keyword("or"):
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.term()
        while self.keyword("and"):
            node = And(node, self.term())
        return node

    def term(self) -> Any:
        if self.keyword("not"):
            return Not(self.term())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.i += 1
            node = self.disjunction()
            self.expect_punct(")")
            return node
        return self.comparison()

    def comparison(self) -> Cmp:
        t = self.tok
        if t.kind != "field":
            raise _error(self.text, t.pos, "expected a field such as metrics.accuracy or params.C")
        namespace, key = _split_field(self.text, t)
        self.i += 1
        negate = self.keyword("not")
        if self.keyword("in"):
            self.expect_punct("(")
            values = [self.value("in")]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                values.append(self.value("in"))
            self.expect_punct(")")
            return Cmp(namespace, key, "not in" if negate else "in", tuple(values))
        for word in ("like", "ilike"):
            if self.keyword(word):
                value = self.value(word)
                if not isinstance(value, str):
                    raise _error(
                        self.text, self.toks[self.i - 1].pos, f"'{word}' needs a quoted pattern"
                    )
                return Cmp(namespace, key, ("not " if negate else "") + word, value)
        if negate:
            raise _error(self.text, self.tok.pos, "expected 'in' or 'like' after 'not'")
        if self.tok.kind != "op":
            raise _error(
                self.text,
                self.tok.pos,
                f"expected a comparison (=, !=, <, <=, >, >=, in, like) after {t.text!r}",
            )
        op = {"==": "=", "<>": "!="}.get(self.tok.text, self.tok.text)
        self.i += 1
        return Cmp(namespace, key, op, self.value(op))

    def value(self, after: str) -> Any:
        t = self.tok
        self.i += 1
        if t.kind == "number":
            number = float(t.text)
            whole = (
                number.is_integer() and re.fullmatch(r"[-+]?\d+", t.text) and abs(number) < 2**63
            )
            return int(t.text) if whole else number  # beyond 64 bits a database integer overflows
        if t.kind == "string":
            return (
                bytes(t.text[1:-1], "utf-8").decode("unicode_escape")
                if "\\" in t.text
                else t.text[1:-1]
            )
        if t.kind == "field" and t.text.lower() in ("true", "false"):
            return t.text.lower() == "true"
        raise _error(self.text, t.pos, f"expected a number or a quoted string after {after!r}")


def _split_field(text: str, t: _Tok) -> tuple[str, str]:
    parts = re.findall(r"`[^`]+`|[^.]+", t.text)
    if not parts:
        raise _error(text, t.pos, "expected a field such as metrics.accuracy or params.C")
    head, rest = parts[0].strip("`"), [p.strip("`") for p in parts[1:]]
    if head.lower() in NAMESPACES and rest:
        return NAMESPACES[head.lower()], ".".join(rest)
    if not rest and head in ATTRIBUTES:
        return "attributes", head
    raise _error(
        text,
        t.pos,
        f"unknown field {t.text!r}; write params.<name>, metrics.<name>, tags.<name> or "
        "attributes.<name>",
    )


def parse(text: str) -> Any:
    """Parse a filter into a small tree of ``Cmp``/``And``/``Or``/``Not`` nodes."""
    if not isinstance(text, str):
        raise InvalidInput(f"A filter must be text, not {type(text).__name__}.")
    return _Parser(text).parse()


# ---------------------------------------------------------------- SQL


def _apply(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "in":
        return column.in_(value)  # type: ignore[no-any-return]
    if op == "not in":
        return column.not_in(value)  # type: ignore[no-any-return]
    if op.endswith("ilike"):
        cond = column.ilike(value)
    else:
        cond = column.like(value)
    return not_(cond) if op.startswith("not") else cond  # type: ignore[no-any-return]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _time_value(key: str, value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_time_value(key, v) for v in value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"attributes.{key} compares with a date such as '2026-11-01' or epoch seconds, "
                f"not {value!r}."
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()
        return parsed.timestamp()
    return value


def to_sql(node: Any) -> ColumnElement[bool]:
    """Translate a parsed filter to a condition on the ``runs`` table."""
    if isinstance(node, And):
        return and_(to_sql(node.left), to_sql(node.right))
    if isinstance(node, Or):
        return or_(to_sql(node.left), to_sql(node.right))
    if isinstance(node, Not):
        return not_(to_sql(node.inner))
    assert isinstance(node, Cmp)
    values = node.value if isinstance(node.value, tuple) else (node.value,)
    numeric = all(_is_number(v) for v in values)
    textual = all(isinstance(v, str) for v in values)
    if node.namespace == "metrics":
        if not numeric:
            raise InvalidInput(f"metrics.{node.key} compares with numbers, not {node.value!r}.")
        return exists(
            select(latest_metrics.c.run_id).where(
                latest_metrics.c.run_id == runs.c.id,
                latest_metrics.c.key == node.key,
                _apply(latest_metrics.c.value, node.op, node.value),
            )
        )
    if node.namespace == "params":
        column = params.c.value_num if numeric else params.c.value
        value = node.value
        if isinstance(value, bool):
            value = "true" if value else "false"
        return exists(
            select(params.c.run_id).where(
                params.c.run_id == runs.c.id,
                params.c.key == node.key,
                _apply(column, node.op, value),
            )
        )
    if node.namespace == "tags":
        if not textual:
            value = (
                tuple(str(v) for v in values) if isinstance(node.value, tuple) else str(node.value)
            )
        else:
            value = node.value
        return exists(
            select(tags.c.run_id).where(
                tags.c.run_id == runs.c.id,
                tags.c.key == node.key,
                _apply(tags.c.value, node.op, value),
            )
        )
    if node.key not in ATTRIBUTES:
        raise InvalidInput(
            f"Unknown attribute {node.key!r}; known attributes are {', '.join(sorted(ATTRIBUTES))}."
        )
    value = node.value
    if node.key in _TIME_ATTRIBUTES:
        value = _time_value(node.key, value)
    elif node.key == "status":
        value = tuple(v.upper() for v in value) if isinstance(value, tuple) else str(value).upper()
    return _apply(ATTRIBUTES[node.key], node.op, value)


def where(text: str | None) -> ColumnElement[bool]:
    """The SQL condition for a filter string (``None`` or blank matches everything).

    Example:
        >>> str(where("attributes.status = 'finished'")).startswith("runs.status")
        True
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return true()
    return to_sql(parse(text))


def parse_sort(spec: str | list[str] | tuple[str, ...] | None) -> list[tuple[str, str, bool]]:
    """Parse ``-metrics.accuracy,params.C`` into ``(namespace, key, descending)`` triples."""
    if not spec:
        return [("attributes", "start_time", True)]
    items = [spec] if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(
                f"A sort key must be text such as -metrics.accuracy, not {type(item).__name__}."
            )
        for part in filter(None, (p.strip() for p in item.split(","))):
            descending = part.startswith("-")
            body = part.lstrip("+-").strip()
            tok = _Tok("field", body, 0)
            namespace, key = _split_field(part, tok)
            if namespace == "attributes" and key not in ATTRIBUTES:
                raise InvalidInput(
                    f"Cannot sort by unknown attribute {key!r}; known attributes are "
                    f"{', '.join(sorted(ATTRIBUTES))}."
                )
            out.append((namespace, key, descending))
    return out


def apply_sort(query: Select[Any], keys: list[tuple[str, str, bool]]) -> Select[Any]:
    """Add joins and ORDER BY for the parsed sort keys (missing values sort last)."""
    order = []
    for i, (namespace, key, descending) in enumerate(keys):
        if namespace == "attributes":
            column: Any = ATTRIBUTES[key]
        else:
            table = {"metrics": latest_metrics, "params": params, "tags": tags}[namespace].alias(
                f"sort{i}"
            )
            query = query.outerjoin(table, and_(table.c.run_id == runs.c.id, table.c.key == key))
            if namespace == "params":
                order.append(_direction(table.c.value_num, descending))
            column = table.c.value
        order.append(_direction(column, descending))
    order.append(runs.c.id.desc())  # stable pages
    return query.order_by(*order)


def _direction(column: Any, descending: bool) -> Any:
    return (column.desc() if descending else column.asc()).nulls_last()


__all__ = ["parse", "where", "to_sql", "parse_sort", "apply_sort"]
