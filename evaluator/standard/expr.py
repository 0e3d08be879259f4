"""A small, safe, typed expression language for standards (docs/FORMATS.md, "Expressions").

Standards are written by people who are not programmers and are loaded from files, so
conditions are never handed to Python's eval: a hand-written tokenizer and recursive-descent
parser build an AST of frozen dataclasses, a checker types it when the standard loads (so typos
and type errors surface before anything is scored), and a tiny evaluator walks it.

    compile_expr("members_full >= 3 and has_volunteer_team", names).evaluate(env) -> True

Numbers are `decimal.Decimal` throughout; arithmetic uses a private context so results do not
depend on whatever the caller did to the thread's decimal context. A number may be written as
people write evidence (`500平方米`, `５０人`, `60%`): beside a field it is read by the evidence
reader (evaluator.standard.quantity) for that field, so its unit is checked where it is written.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import difflib
import enum
import operator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from decimal import Decimal

from ..terms import PERIOD_UNITS
from .quantity import NormalizeError, halfwidth, is_unit, read_number, read_share

__all__ = [
    "Type", "NameSpec", "FunctionSpec", "Expr", "compile_expr", "DEFAULT_FUNCTIONS",
    "ExprError", "MissingValue", "EvalError", "PERIOD_UNITS", "whole_months",
]


# --------------------------------------------------------------------------- errors and types

class ExprError(Exception):
    """A compile-time problem: syntax, unknown name/function, type error. `column` is 1-based."""

    def __init__(self, message: str, column: int):
        self.message = message
        self.column = column
        super().__init__(message, column)

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})"


class MissingValue(Exception):
    """A name has no value; the caller turns this into a "not reviewed" outcome."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        return f"missing value: {self.name}"


class EvalError(Exception):
    """A runtime failure (division by zero, a value of the wrong kind, a function that failed)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class Type(enum.Enum):
    NUMBER = "number"
    BOOL = "boolean"
    TEXT = "text"
    DATE = "date"
    RECORDS = "records"
    LIST = "list"          # a list of literals
    ANY = "any value"      # unifies with everything; checked at runtime only


_PLURAL = {Type.NUMBER: "numbers", Type.BOOL: "booleans", Type.TEXT: "text", Type.DATE: "dates"}


@dataclass(frozen=True)
class NameSpec:
    type: Type
    enum: tuple[str, ...] | None = None    # allowed values of an enum (TEXT) field
    field: Any = None     # the evidence field (model.Field) of a number, integer or percentage name:
                          # a number typed with a unit beside it (`500平方米`) is read for it


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    params: tuple[Type | tuple[Type, ...], ...]   # a tuple of Types is a union (len takes records or list)
    returns: Type
    impl: Callable[..., Any]                      # impl(*args, env=env)
    check_literal: Callable[[int, Any], str | None] | None = None   # (0-based index, value) -> error


# Arithmetic context: fixed so evaluation is deterministic whatever the caller's context is.
_CTX = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN,
                       traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_MAX_NESTING = 30    # parentheses/not/unary depth while parsing (keeps Python's stack safe)
_MAX_DEPTH = 60      # AST depth (long `a + b + c ...` chains are recursed by checker/evaluator)


# --------------------------------------------------------------------------- tokenizer

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
_ID_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_WIDE_DIGITS = frozenset("０１２３４５６７８９")       # typed with a Chinese input method
_UNIT_STOP = frozenset(" \t\r\n<>=!+-*/()[],'\"&|")  # what ends a unit written after a number
_ID_CHARS = _ID_START | _DIGITS
_TWO_CHAR = ("==", "!=", "<=", ">=")
_ONE_CHAR = frozenset("<>+-*/()[],")
_HINTS = {"=": "'=' is not an operator; use '==' to compare",
          "!": "unexpected '!'; use 'not' or '!='",
          "&": "use 'and' instead of '&'", "|": "use 'or' instead of '|'"}


@dataclass(frozen=True)
class _Tok:
    kind: str      # num str name kw op eof
    text: str      # source text (for messages)
    value: Any
    col: int
    typed: str = ""   # a number as typed when it is more than ASCII digits (500平方米, ５０, 60%)


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c, col = src[i], i + 1
        if c in " \t\r\n":
            i += 1
        elif c in _DIGITS or c in _WIDE_DIGITS:
            j = _digits(src, i)
            if j < n and halfwidth(src[j]) == ".":
                j += 1
                if j >= n or halfwidth(src[j]) not in _DIGITS:
                    raise ExprError(f"malformed number '{src[i:j]}'", col)
                j = _digits(src, j)
            value = Decimal(halfwidth(src[i:j]))
            end = _unit_end(src, j)
            if src[j:end] in ("%", "％"):
                value = _CTX.divide(value, Decimal(100))
            if end < n and src[end] in _ID_CHARS:
                raise ExprError(f"malformed number '{src[i:end + 1]}'", col)
            text = src[i:end]
            toks.append(_Tok("num", text, value, col, "" if text.isascii() and end == j else text))
            i = end
        elif c in _ID_START:
            j = i
            while True:                      # dotted parts: `org.type` is one name
                while j < n and src[j] in _ID_CHARS:
                    j += 1
                if j < n and src[j] == ".":
                    if j + 1 < n and src[j + 1] in _ID_START:
                        j += 1
                        continue
                    raise ExprError(f"malformed name '{src[i:j + 1]}'", col)
                break
            word = src[i:j]
            toks.append(_Tok("kw" if word in _KEYWORDS else "name", word, word, col))
            i = j
        elif c in "'\"":
            j, out = i + 1, []
            while j < n and src[j] != c:
                if src[j] == "\\" and j + 1 < n:   # \' \" \\ : the next character as is
                    j += 1
                out.append(src[j])
                j += 1
            if j >= n:
                raise ExprError("unterminated string", col)
            toks.append(_Tok("str", src[i:j + 1], "".join(out), col))
            i = j + 1
        elif src[i:i + 2] in _TWO_CHAR:
            toks.append(_Tok("op", src[i:i + 2], None, col))
            i += 2
        elif c in _ONE_CHAR:
            toks.append(_Tok("op", c, None, col))
            i += 1
        elif src[i:i + 2] in ("&&", "||"):
            raise ExprError(f"use '{'and' if c == '&' else 'or'}' instead of '{src[i:i + 2]}'", col)
        elif c in _HINTS:
            raise ExprError(_HINTS[c], col)
        elif ord(c) > 127:
            raise ExprError(f"unexpected character '{c}'; names and operators are ASCII, "
                            "text must be quoted", col)
        else:
            raise ExprError(f"unexpected character {c!r}", col)
    toks.append(_Tok("eof", "", None, n + 1))
    return toks


def _digits(src: str, i: int) -> int:
    while i < len(src) and halfwidth(src[i]) in _DIGITS:
        i += 1
    return i


def _unit_end(src: str, j: int) -> int:
    """Where the unit written after a number ending at `j` ends (`j` when there is none): a
    percent sign, a known ASCII unit written on (`500m2`), or Chinese (`500平方米`, `50 人`,
    which may stand after a space). What the unit means is decided by the field it is compared
    with (_read_quantities)."""
    n = len(src)
    if j < n and src[j] in "%％":
        return j + 1
    start = j
    while start < n and src[start] in " \t":
        start += 1
    k = start
    if k < n and ord(src[k]) > 127 and not src[k].isspace():
        while k < n and src[k] not in _UNIT_STOP and not src[k].isspace():
            k += 1
        return k
    # `500m2`, `500 m2`: a name after a number is never valid, so a known unit is taken as one
    while k < n and (src[k] in _ID_CHARS or src[k] in "²³"):
        k += 1
    return k if k > start and is_unit(src[start:k]) else j


def _describe(t: _Tok) -> str:
    if t.kind == "eof":
        return "end of expression"
    if t.kind == "name":
        return f"name '{t.text}'"
    if t.kind == "num":
        return f"number {t.text}"
    if t.kind == "str":
        return f"text {t.text}"
    return f"'{t.text}'"


# --------------------------------------------------------------------------- AST

@dataclass(frozen=True)
class Literal:
    value: Any
    type: Type
    col: int
    typed: str = ""   # a number with a unit (or in full-width digits) as written, until it is read


@dataclass(frozen=True)
class ListLit:
    items: tuple[Literal, ...]
    col: int


@dataclass(frozen=True)
class Name:
    name: str
    col: int


@dataclass(frozen=True)
class Unary:
    op: str            # '-' or 'not'
    operand: Any
    col: int


@dataclass(frozen=True)
class Binary:
    op: str            # or and == != < <= > >= in 'not in' + - * /
    left: Any
    right: Any
    op_col: int

    @property
    def col(self) -> int:
        return self.left.col


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    col: int


_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


# --------------------------------------------------------------------------- parser

class _Parser:
    def __init__(self, src: str):
        self.toks = _tokenize(src)
        self.pos = 0
        self.nesting = 0

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        t = self.peek()
        self.pos += 1
        return t

    def at(self, text: str) -> bool:
        t = self.peek()
        return t.kind in ("op", "kw") and t.text == text

    def expect(self, text: str, what: str | None = None) -> _Tok:
        if not self.at(text):
            t = self.peek()
            raise ExprError(f"expected {what or repr(text)} but found {_describe(t)}", t.col)
        return self.take()

    def nest(self, col: int) -> None:
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise ExprError("expression is nested too deeply", col)

    def parse(self):
        if self.peek().kind == "eof":
            raise ExprError("empty expression", 1)
        node = self.or_expr()
        t = self.peek()
        if t.kind != "eof":
            raise ExprError(f"unexpected {_describe(t)}", t.col)
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.at("or"):
            op = self.take()
            node = Binary("or", node, self.and_expr(), op.col)
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.at("and"):
            op = self.take()
            node = Binary("and", node, self.not_expr(), op.col)
        return node

    def not_expr(self):
        if self.at("not"):
            t = self.take()
            self.nest(t.col)
            node = Unary("not", self.not_expr(), t.col)
            self.nesting -= 1
            return node
        return self.comparison()

    def compare_op(self) -> tuple[str, int] | None:
        t = self.peek()
        if t.kind == "op" and t.text in _COMPARE or t.kind == "kw" and t.text == "in":
            return t.text, t.col
        if self.at("not") and self.peek(1).kind == "kw" and self.peek(1).text == "in":
            return "not in", t.col
        return None

    def comparison(self):
        node = self.additive()
        op = self.compare_op()
        if op is None:
            return node
        self.pos += 2 if op[0] == "not in" else 1
        node = Binary(op[0], node, self.additive(), op[1])
        again = self.compare_op()
        if again is not None:    # `a < b < c` would mean something surprising; refuse it
            raise ExprError("comparisons cannot be chained; write 'a < b and b < c'", again[1])
        return node

    def additive(self):
        node = self.multiplicative()
        while self.at("+") or self.at("-"):
            op = self.take()
            node = Binary(op.text, node, self.multiplicative(), op.col)
        return node

    def multiplicative(self):
        node = self.unary()
        while self.at("*") or self.at("/"):
            op = self.take()
            node = Binary(op.text, node, self.unary(), op.col)
        return node

    def unary(self):
        if self.at("-"):
            t = self.take()
            self.nest(t.col)
            operand = self.unary()
            self.nesting -= 1
            if isinstance(operand, Literal) and operand.type is Type.NUMBER:   # -5 is a literal
                return Literal(_CTX.minus(operand.value), Type.NUMBER, t.col, "-" + operand.typed if operand.typed else "")
            return Unary("-", operand, t.col)
        return self.primary()

    def primary(self):
        t = self.peek()
        if t.kind == "num":
            self.take()
            return Literal(t.value, Type.NUMBER, t.col, t.typed)
        if t.kind == "str":
            self.take()
            return Literal(t.value, Type.TEXT, t.col)
        if t.kind == "kw" and t.text in ("true", "false"):
            self.take()
            return Literal(t.text == "true", Type.BOOL, t.col)
        if self.at("("):
            self.take()
            self.nest(t.col)
            node = self.or_expr()
            self.nesting -= 1
            self.expect(")")
            return node
        if self.at("["):
            return self.list_literal()
        if t.kind == "name":
            self.take()
            if not self.at("("):
                return Name(t.text, t.col)
            if t.text == "date":
                return self.date_literal(t)
            self.take()
            self.nest(t.col)
            args = []
            if not self.at(")"):
                args.append(self.or_expr())
                while self.at(","):
                    self.take()
                    args.append(self.or_expr())
            self.nesting -= 1
            self.expect(")", "',' or ')'")
            return Call(t.text, tuple(args), t.col)
        raise ExprError(f"expected a value but found {_describe(t)}", t.col)

    def date_literal(self, name_tok: _Tok) -> Literal:
        self.take()   # (
        t = self.peek()
        if t.kind != "str":
            raise ExprError("date() needs a quoted date, e.g. date('2026-06-30')", t.col)
        self.take()
        self.expect(")")
        try:
            if len(t.value) != 10:
                raise ValueError
            value = _dt.date.fromisoformat(t.value)
        except ValueError:
            raise ExprError(f"invalid date '{t.value}' (expected YYYY-MM-DD)", t.col) from None
        return Literal(value, Type.DATE, name_tok.col)

    def list_literal(self) -> ListLit:
        start = self.take()
        self.nest(start.col)
        items: list[Literal] = []
        while not self.at("]"):
            t = self.peek()
            if t.kind == "eof":
                raise ExprError("expected ']' but found end of expression", t.col)
            item = self.unary()     # a literal, possibly negative or a date(...)
            if not isinstance(item, Literal):
                raise ExprError("list items must be literals (numbers, text, true/false, dates)",
                                t.col)
            items.append(item)
            if not self.at("]"):
                self.expect(",", "',' or ']'")
        self.take()
        self.nesting -= 1
        return ListLit(tuple(items), start.col)


def _depth(root) -> int:
    """AST depth, iteratively (a recursive walk could itself overflow)."""
    best, stack = 0, [(root, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        if isinstance(node, Binary):
            stack += [(node.left, d + 1), (node.right, d + 1)]
        elif isinstance(node, Unary):
            stack.append((node.operand, d + 1))
        elif isinstance(node, Call):
            stack += [(a, d + 1) for a in node.args]
    return best


# --------------------------------------------------------------------------- checker

def _suggest(word: str, candidates) -> str:
    same_but_case = [c for c in sorted(candidates) if c.casefold() == word.casefold()]
    close = same_but_case or difflib.get_close_matches(word, sorted(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _accepts(param: Type | tuple[Type, ...], t: Type) -> bool:
    allowed = param if isinstance(param, tuple) else (param,)
    return t is Type.ANY or Type.ANY in allowed or t in allowed


class _Checker:
    def __init__(self, names: Mapping[str, NameSpec], functions: Mapping[str, FunctionSpec]):
        self.names = names
        self.functions = functions
        self.used: set[str] = set()

    def check(self, node) -> Type:
        if isinstance(node, Literal):
            return node.type
        if isinstance(node, ListLit):
            self.element_type(node)
            return Type.LIST
        if isinstance(node, Name):
            return self.name(node).type
        if isinstance(node, Unary):
            t = self.check(node.operand)
            want = Type.BOOL if node.op == "not" else Type.NUMBER
            if t not in (want, Type.ANY):
                what = "a boolean" if want is Type.BOOL else "a number"
                raise ExprError(f"'{node.op}' needs {what}, got {t.value}", node.operand.col)
            return want
        if isinstance(node, Binary):
            return self.binary(node)
        return self.call(node)

    def name(self, node: Name) -> NameSpec:
        spec = self.names.get(node.name)
        if spec is None:
            if node.name in self.functions:
                raise ExprError(f"'{node.name}' is a function; call it like {node.name}(...)",
                                node.col)
            hint = _suggest(node.name, list(self.names) + ["true", "false"])
            raise ExprError(f"unknown name '{node.name}'{hint}", node.col)
        self.used.add(node.name)
        return spec

    def element_type(self, node: ListLit) -> Type | None:
        first = None
        for item in node.items:
            if first is None:
                first = item.type
            elif item.type is not first:
                raise ExprError(f"list items must all have the same type; found {item.type.value} "
                                f"after {first.value}", item.col)
        return first

    def enum_check(self, name_node, lit_nodes) -> None:
        """`secretary_rating == '优'`: the literal must be one of the field's values."""
        if not isinstance(name_node, Name):
            return
        allowed = self.names[name_node.name].enum
        if not allowed:
            return
        for lit in lit_nodes:
            if isinstance(lit, Literal) and lit.type is Type.TEXT and lit.value not in allowed:
                raise ExprError(f"'{lit.value}' is not one of {', '.join(allowed)}"
                                f"{_suggest(lit.value, allowed)}", lit.col)

    def binary(self, node: Binary) -> Type:
        op = node.op
        lt, rt = self.check(node.left), self.check(node.right)
        if op in ("and", "or", "+", "-", "*", "/"):
            want = Type.BOOL if op in ("and", "or") else Type.NUMBER
            for t, side in ((lt, node.left), (rt, node.right)):
                if t not in (want, Type.ANY):
                    raise ExprError(f"'{op}' needs {_PLURAL[want]}, got {t.value}", side.col)
            return want
        if op in ("in", "not in"):
            if lt not in (Type.TEXT, Type.NUMBER, Type.ANY):
                raise ExprError(f"'{op}' needs text or a number on the left, got {lt.value}",
                                node.left.col)
            if rt not in (Type.LIST, Type.ANY):
                raise ExprError(f"'{op}' needs a list on the right, got {rt.value}", node.right.col)
            if isinstance(node.right, ListLit):
                et = self.element_type(node.right)
                if et is not None and lt is not Type.ANY and et is not lt:
                    raise ExprError(f"cannot compare {lt.value} with a list of {_PLURAL[et]}",
                                    node.op_col)
                self.enum_check(node.left, node.right.items)
            return Type.BOOL
        # == != < <= > >=
        if Type.ANY not in (lt, rt) and lt is not rt:
            raise ExprError(f"cannot compare {lt.value} with {rt.value}", node.op_col)
        if op in ("==", "!="):
            if Type.RECORDS in (lt, rt):
                raise ExprError(f"cannot use '{op}' on records; use len() or count()", node.op_col)
            self.enum_check(node.left, [node.right])
            self.enum_check(node.right, [node.left])
        else:
            for t in (lt, rt):
                if t not in (Type.NUMBER, Type.DATE, Type.ANY):
                    raise ExprError(f"'{op}' needs numbers or dates, got {t.value}", node.op_col)
        return Type.BOOL

    def call(self, node: Call) -> Type:
        spec = self.functions.get(node.func)
        if spec is None:
            if node.func in self.names:
                raise ExprError(f"'{node.func}' is a name, not a function", node.col)
            hint = _suggest(node.func, list(self.functions) + ["date"])
            raise ExprError(f"unknown function '{node.func}'{hint}", node.col)
        if len(node.args) != len(spec.params):
            n = len(spec.params)
            raise ExprError(f"{node.func}() takes {n} argument{'s' if n != 1 else ''}, "
                            f"got {len(node.args)}", node.col)
        if node.func == "exists":     # special form: tests presence, so it needs a bare name
            arg = node.args[0]
            if not isinstance(arg, Name):
                raise ExprError("exists() needs a name, e.g. exists(centre_area)", arg.col)
            self.name(arg)
            return spec.returns
        for i, (arg, param) in enumerate(zip(node.args, spec.params)):
            t = self.check(arg)
            if not _accepts(param, t):
                want = " or ".join(p.value for p in (param if isinstance(param, tuple) else (param,)))
                raise ExprError(f"argument {i + 1} of {node.func}() must be {want}, got {t.value}",
                                arg.col)
            if spec.check_literal is not None and isinstance(arg, (Literal, ListLit)):
                value = _literal_value(arg)
                problem = spec.check_literal(i, value)
                if problem:
                    raise ExprError(problem, arg.col)
        return spec.returns


# --------------------------------------------------------------------------- numbers with units

def _read_quantities(node, specs: Mapping[str, NameSpec]):
    """The tree with every number typed with a unit (`500平方米`, `５０人`, `60%`) read as
    evidence reads it for the field it is compared with (evaluator.standard.quantity): the same
    text means the same number in a standard as in an evidence file, and a unit that does not fit
    the field gets evidence's message. A bare number beside a percentage field must be a share
    (0.6, not 60)."""
    if isinstance(node, Binary):
        left, right = node.left, node.right
        if node.op in _COMPARE or node.op in ("in", "not in"):
            _refuse_duration_unit(left, right)
            _refuse_duration_unit(right, left)
            left, right = _beside(left, right, specs), _beside(right, left, specs)
        return Binary(node.op, _read_quantities(left, specs), _read_quantities(right, specs), node.op_col)
    if isinstance(node, Unary):
        return Unary(node.op, _read_quantities(node.operand, specs), node.col)
    if isinstance(node, Call):
        return Call(node.func, tuple(_read_quantities(a, specs) for a in node.args), node.col)
    if isinstance(node, ListLit):
        return ListLit(tuple(_read_quantities(i, specs) for i in node.items), node.col)
    if isinstance(node, Literal) and node.typed:
        if node.typed.strip("-").endswith(("%", "％")) or halfwidth(node.typed).strip("-").replace(".", "").isdigit():
            return Literal(node.value, node.type, node.col)      # 60% and ５０ mean what they say anywhere
        raise ExprError(f"{node.typed!r}: a number with a unit is read for the field it is compared with "
                        f"(e.g. centre_area >= 500平方米); here write the number without its unit", node.col)
    return node


_DURATIONS = {"days_since": "days", "months_since": "whole months", "years_since": "whole years",
              "months_between": "whole months", "years_between": "whole years"}


def _refuse_duration_unit(node, other) -> None:
    """`days_since(last_election) > 3年`: the function's unit is fixed by the function; say so."""
    if isinstance(node, Literal) and node.typed and isinstance(other, Call) and other.func in _DURATIONS \
            and not halfwidth(node.typed).strip("-").replace(".", "").isdigit():
        raise ExprError(f"{node.typed!r}: {other.func}() gives a number of {_DURATIONS[other.func]}; write the "
                        f"number alone (for months or years use months_since() or years_since())", node.col)


def _beside(node, other, specs: Mapping[str, NameSpec]):
    """`node` read for the field `other` names, when `node` is a number (or a list of numbers)."""
    field = specs[other.name].field if isinstance(other, Name) and other.name in specs else None
    if field is None:
        return node
    if isinstance(node, ListLit):
        return ListLit(tuple(_beside(i, other, specs) for i in node.items), node.col)
    if not (isinstance(node, Literal) and node.type is Type.NUMBER):
        return node
    raw = node.typed or node.value
    try:
        value = read_share(raw) if field.type == "percentage" else read_number(raw, field)
    except NormalizeError as e:
        raise ExprError(e.message, node.col) from None
    return Literal(value, Type.NUMBER, node.col)


def _literal_value(node):
    return tuple(i.value for i in node.items) if isinstance(node, ListLit) else node.value


# --------------------------------------------------------------------------- evaluator

def _coerce(what: str, value: Any, t: Type) -> Any:
    """Check a runtime value (env entry or function result) against its declared type."""
    if isinstance(value, bool):
        if t in (Type.BOOL, Type.ANY):
            return value
    elif isinstance(value, (int, float, Decimal)):
        if t in (Type.NUMBER, Type.ANY):
            # float via str so 0.1 means 0.1; int/float inputs are tolerated, Decimal is the norm
            num = value if isinstance(value, Decimal) else Decimal(str(value))
            if not num.is_finite():
                raise EvalError(f"value of {what} is not a finite number")
            return num
    elif isinstance(value, _dt.date):
        if t in (Type.DATE, Type.ANY):
            return value.date() if isinstance(value, _dt.datetime) else value
    elif isinstance(value, str):
        if t in (Type.TEXT, Type.ANY):
            return value
    elif isinstance(value, Sequence):     # str was handled above
        if t is Type.LIST:
            return tuple(value)
        if t in (Type.RECORDS, Type.ANY):
            return value
    elif t is Type.ANY:
        return value
    raise EvalError(f"value of {what} should be {t.value}, got {type(value).__name__}")


def _arith(op: str, a: Decimal, b: Decimal) -> Decimal:
    if op == "/" and b == 0:
        raise EvalError("division by zero")
    try:
        return {"+": _CTX.add, "-": _CTX.subtract, "*": _CTX.multiply, "/": _CTX.divide}[op](a, b)
    except decimal.DecimalException as exc:
        raise EvalError(f"arithmetic failed: '{op}' ({type(exc).__name__})") from None


class Expr:
    """A compiled expression. Immutable; evaluate() may be called any number of times."""

    # The expression in plain Chinese, as documents print it (evaluator.standard.plain), set
    # once by whoever compiles it with the names' labels (the standard loader); None: not given.
    plain: str | None = None

    def __init__(self, source: str, tree, type_: Type, names: Mapping[str, NameSpec],
                 functions: Mapping[str, FunctionSpec], used: frozenset[str]):
        self.source = source
        self.type = type_
        self.names = used
        self._tree = tree
        self._specs = names
        self._functions = functions
        self._run: Callable[[Mapping[str, Any]], Any] | None = None     # the tree compiled (_compile)

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"

    @property
    def tree(self):
        """The checked AST (frozen nodes), for tools that read an expression's structure."""
        return self._tree

    def subexpression(self, node) -> "Expr":
        """A node of this expression's tree as an expression of its own (same names and
        functions), evaluated with the same semantics. Its source is the node's text."""
        return Expr(_unparse(node), node, Type.ANY, self._specs, self._functions, frozenset(_names_in(node)))

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        run = self._run
        if run is None:
            run = self._run = _compile(self._tree, self._specs, self._functions)
        result = run(env)
        return result if self.type is Type.ANY else _coerce("the expression", result, self.type)


# The tree is compiled into nested Python closures the first time an expression is evaluated:
# walking it node by node (which kind? which operator?) cost more than the work each node does,
# and expressions are evaluated for every organization. Each closure evaluates its node as the
# tree says: operands left to right, both before any type check, `and`/`or` short-circuiting,
# the same errors with the same words.

_ORDER = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _compile(node, specs: Mapping[str, NameSpec], functions: Mapping[str, FunctionSpec]) -> Callable[[Mapping], Any]:
    if isinstance(node, (Literal, ListLit)):
        value = node.value if isinstance(node, Literal) else _literal_value(node)
        return lambda env: value
    if isinstance(node, Name):
        return _compile_name(node.name, specs)
    if isinstance(node, Unary):
        operand = _compile(node.operand, specs, functions)
        if node.op == "not":
            return lambda env: not _want_bool(operand(env))
        return lambda env: _CTX.minus(_want_number(operand(env)))
    if isinstance(node, Binary):
        return _compile_binary(node.op, _compile(node.left, specs, functions), _compile(node.right, specs, functions))
    return _compile_call(node, specs, functions)


def _compile_name(name: str, specs: Mapping[str, NameSpec]):
    what = f"'{name}'"

    def value_of(env):
        value = env.get(name)
        if value is None:
            raise MissingValue(name)
        return _coerce(what, value, specs[name].type)
    return value_of


def _compile_binary(op: str, left, right):
    if op == "and":       # short-circuit: `exists(x) and x > 3` must not touch x
        return lambda env: _want_bool(right(env)) if _want_bool(left(env)) else False
    if op == "or":
        return lambda env: True if _want_bool(left(env)) else _want_bool(right(env))

    def both(env):
        return left(env), right(env)
    if op in ("+", "-", "*", "/"):
        def arith(env):
            a, b = both(env)
            return _arith(op, _want_number(a), _want_number(b))
        return arith
    if op == "==":
        return lambda env: operator.eq(*both(env))
    if op == "!=":
        return lambda env: operator.ne(*both(env))
    if op in ("in", "not in"):
        def member(env):
            a, b = both(env)
            if not isinstance(b, (tuple, list)):
                raise EvalError(f"'{op}' needs a list, got {type(b).__name__}")
            return (a in b) == (op == "in")
        return member
    compare = _ORDER.get(op, _ORDER[">="])

    def order(env):
        a, b = both(env)
        try:
            return compare(a, b)
        except TypeError:
            raise EvalError(f"cannot compare {type(a).__name__} with {type(b).__name__}") from None
    return order


def _compile_call(node: Call, specs, functions):
    func = node.func
    if func == "exists":
        name = node.args[0].name

        def arguments(env):
            return [env.get(name) is not None]
    else:
        args = [_compile(a, specs, functions) for a in node.args]

        def arguments(env):
            return [a(env) for a in args]

    def call(env):
        spec = functions[func]
        values = arguments(env)
        try:
            result = spec.impl(*values, env=env)
        except (MissingValue, EvalError):
            raise
        except Exception as exc:  # a function's failure is this criterion's error, not a crash
            raise EvalError(f"{func}() failed: {exc}") from exc
        if result is None:        # "no value" from a function means the same as a missing name
            raise MissingValue(f"{func}()")
        return _coerce(f"{func}()", result, spec.returns)
    return call


def _names_in(node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Unary):
        return _names_in(node.operand)
    if isinstance(node, Binary):
        return _names_in(node.left) | _names_in(node.right)
    if isinstance(node, Call):
        return set().union(*(_names_in(a) for a in node.args)) if node.args else set()
    return set()


def _unparse(node) -> str:
    """Expression text for a node (for messages about a part of a larger expression)."""
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        if isinstance(node.value, str):
            return repr(node.value)
        if isinstance(node.value, _dt.date):
            return f"date('{node.value.isoformat()}')"
        return str(node.value)
    if isinstance(node, ListLit):
        return "[" + ", ".join(_unparse(i) for i in node.items) + "]"
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Unary):
        return f"not {_unparse(node.operand)}" if node.op == "not" else f"-{_unparse(node.operand)}"
    if isinstance(node, Binary):
        return f"{_unparse(node.left)} {node.op} {_unparse(node.right)}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_unparse(a) for a in node.args)})"
    return "?"


def _want_bool(v) -> bool:
    if not isinstance(v, bool):   # no truthiness: 0 and '' are not false
        raise EvalError(f"expected true or false, got {type(v).__name__}")
    return v


def _want_number(v) -> Decimal:
    if not isinstance(v, Decimal):
        raise EvalError(f"expected a number, got {type(v).__name__}")
    return v


# --------------------------------------------------------------------------- default functions



def _period(env, func: str) -> tuple[_dt.date, _dt.date]:
    period = env.get("$period")
    if not (isinstance(period, tuple) and len(period) == 2
            and all(isinstance(d, _dt.date) for d in period)):
        raise EvalError(f"{func}() needs the round period in env['$period'] as (date_from, date_to)")
    return period


def _record_date(rec) -> _dt.date:
    d = rec if isinstance(rec, _dt.date) else (
        rec.get("date") if isinstance(rec, Mapping) else getattr(rec, "date", None))
    if not isinstance(d, _dt.date):
        raise EvalError(f"record without a date: {rec!r}")
    return d.date() if isinstance(d, _dt.datetime) else d


def _unit_key(d: _dt.date, unit: str):
    if unit == "week":
        return tuple(d.isocalendar())[:2]        # ISO (year, week)
    if unit == "month":
        return d.year, d.month
    if unit == "quarter":
        return d.year, (d.month - 1) // 3
    if unit == "half_year":
        return d.year, (d.month - 1) // 6
    return d.year


def _check_unit(index: int, value) -> str | None:
    if index == 1 and value not in PERIOD_UNITS:
        return (f"unknown period '{value}'{_suggest(value, PERIOD_UNITS)} "
                f"(one of {', '.join(PERIOD_UNITS)})")
    return None


def _count(records, unit, *, env) -> Decimal:
    """Distinct units (months, ISO weeks, ...) of the round period holding at least one record."""
    if unit not in PERIOD_UNITS:
        raise EvalError(f"unknown period '{unit}'")
    start, end = _period(env, "count")
    keys = {_unit_key(d, unit) for d in map(_record_date, records) if start <= d <= end}
    return Decimal(len(keys))


def _days_since(d, *, env) -> Decimal:
    return Decimal((_period(env, "days_since")[1] - d).days)


def whole_months(start: _dt.date, end: _dt.date) -> int:
    """Whole calendar months from `start` to `end` (negative when `end` is earlier).

    A month is whole when `end` reaches the same day number in a later month: 30 September
    to 30 December is 3 months, to 29 December 2. A start day the later month does not have
    is reached on the following 1st, never earlier: 31 January to 28 (or 29) February is 0
    months and to 1 March 1; 29 February 2024 to 28 February 2025 is 11 months, to 1 March
    2025 12. (The Civil Code's "last day of a shorter month" rule would make 31 January to
    28 February a whole month, which is not what "vacant for more than a month" means.)"""
    if end < start:
        return -whole_months(end, start)
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def _whole_years(months: int) -> int:
    return months // 12 if months >= 0 else -(-months // 12)


def _months_since(d, *, env) -> Decimal:
    return Decimal(whole_months(d, _period(env, "months_since")[1]))


def _years_since(d, *, env) -> Decimal:
    return Decimal(_whole_years(whole_months(d, _period(env, "years_since")[1])))


def _months_between(start, end, *, env) -> Decimal:
    return Decimal(whole_months(start, end))


def _years_between(start, end, *, env) -> Decimal:
    return Decimal(_whole_years(whole_months(start, end)))


def _len(value, *, env) -> Decimal:
    return Decimal(len(value))


def _exists(present, *, env) -> bool:      # the evaluator passes presence, see Expr._call
    return present


DEFAULT_FUNCTIONS: Mapping[str, FunctionSpec] = MappingProxyType({
    f.name: f for f in (
        FunctionSpec("len", ((Type.RECORDS, Type.LIST),), Type.NUMBER, _len),
        FunctionSpec("exists", (Type.ANY,), Type.BOOL, _exists),
        FunctionSpec("min", (Type.NUMBER, Type.NUMBER), Type.NUMBER, lambda a, b, env: min(a, b)),
        FunctionSpec("max", (Type.NUMBER, Type.NUMBER), Type.NUMBER, lambda a, b, env: max(a, b)),
        FunctionSpec("abs", (Type.NUMBER,), Type.NUMBER, lambda a, env: abs(a)),
        FunctionSpec("count", (Type.RECORDS, Type.TEXT), Type.NUMBER, _count, _check_unit),
        FunctionSpec("days_since", (Type.DATE,), Type.NUMBER, _days_since),
        # whole calendar months / years, to the round's end (a bulletin's as-of date) as days_since
        FunctionSpec("months_since", (Type.DATE,), Type.NUMBER, _months_since),
        FunctionSpec("years_since", (Type.DATE,), Type.NUMBER, _years_since),
        FunctionSpec("months_between", (Type.DATE, Type.DATE), Type.NUMBER, _months_between),
        FunctionSpec("years_between", (Type.DATE, Type.DATE), Type.NUMBER, _years_between),
    )
})


_COMPARE_HINTS = {Type.NUMBER: "{s} >= 1", Type.TEXT: "{s} == '…'", Type.RECORDS: "len({s}) >= 1",
                  Type.DATE: "{s} <= date('2026-06-30')"}


def _yes_no_hint(expect: Type, got: Type, source: str) -> str:
    """A condition that is a bare number, text, records or date: say how to make it yes/no."""
    if expect is not Type.BOOL or got not in _COMPARE_HINTS:
        return ""
    return f"; a condition must be true or false: compare it, e.g. {_COMPARE_HINTS[got].format(s=source.strip())}"


# --------------------------------------------------------------------------- entry point

def compile_expr(source: str, names: Mapping[str, NameSpec | Type],
                 functions: Mapping[str, FunctionSpec] = DEFAULT_FUNCTIONS, *,
                 expect: Type | None = None) -> Expr:
    """Parse and type-check `source`; raise ExprError(message, column) on any problem."""
    if not isinstance(source, str):
        raise ExprError(f"an expression must be text, got {type(source).__name__}", 1)
    specs = {k: v if isinstance(v, NameSpec) else NameSpec(v) for k, v in names.items()}
    tree = _Parser(source).parse()
    if _depth(tree) > _MAX_DEPTH:
        raise ExprError("expression is too long or nested too deeply; split it up", 1)
    checker = _Checker(specs, functions)
    type_ = checker.check(tree)
    tree = _read_quantities(tree, specs)
    if expect not in (None, Type.ANY) and type_ not in (Type.ANY, expect):
        raise ExprError(f"expected a {expect.value} expression, got {type_.value}{_yes_no_hint(expect, type_, source)}", 1)
    if type_ is Type.ANY and expect is not None:
        type_ = expect       # checked against the value at evaluate() time instead
    return Expr(source, tree, type_, specs, functions, frozenset(checker.used))
