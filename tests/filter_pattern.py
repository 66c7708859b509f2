"""A small evaluator of CloudWatch Logs JSON filter patterns, for the subset the CIS filters use.

The syntax (Amazon CloudWatch Logs user guide, "Filter pattern syntax for metric filters ... Using
filter patterns to match terms in JSON log events":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

- the pattern is wrapped in braces: ``{ <expression> }``;
- a comparison is ``<selector> = <value>`` or ``<selector> != <value>``; a selector is
  ``$.`` followed by property names joined by dots (``$.userIdentity.type``); a value is a
  double-quoted string or a bare word, in which ``*`` matches any run of characters;
- ``<selector> NOT EXISTS`` matches when the property is absent;
- comparisons combine with ``&&`` and ``||`` (``&&`` binds tighter) and parentheses.

A selector that names no property of the event satisfies no comparison, ``!=`` included (only
``NOT EXISTS`` matches it). Anything outside this subset raises ``PatternError``, so a pattern
with a typo in its syntax fails a test rather than matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
_MISSING = object()
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>&&|\|\||!=|=|\(|\)|\{|\})
      | (?P<selector>\$(?:\.[A-Za-z0-9_\-]+)+)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<keyword>NOT\s+EXISTS\b)
      | (?P<word>[A-Za-z0-9_.*:/\-]+)
    )""",
    re.VERBOSE,
)


class PatternError(ValueError):
    """The pattern is not in the supported subset of the syntax."""


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(pattern):
        if pattern[position:].strip() == "":
            break
        match = _TOKEN.match(pattern, position)
        if match is None or match.end() == position:
            raise PatternError(f"cannot read {pattern[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


def _value_matcher(raw: str, kind: str) -> Callable[[str], bool]:
    text = bytes(raw[1:-1], "utf-8").decode("unicode_escape") if kind == "quoted" else raw
    regex = re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)
    return lambda value: regex.fullmatch(value) is not None


def _lookup(event: Mapping[str, Any], selector: str) -> Any:
    value: Any = event
    for name in selector[2:].split("."):
        if not isinstance(value, Mapping) or name not in value:
            return _MISSING
        value = value[name]
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, *texts: str) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise PatternError(f"the pattern ends where {' or '.join(texts) or 'more'} was expected")
        if texts and token[1] not in texts:
            raise PatternError(f"expected {' or '.join(texts)}, found {token[1]!r}")
        self.at += 1
        return token

    def disjunction(self) -> Predicate:
        terms = [self.conjunction()]
        while (token := self.peek()) is not None and token[1] == "||":
            self.take("||")
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda event: any(term(event) for term in terms))

    def conjunction(self) -> Predicate:
        terms = [self.primary()]
        while (token := self.peek()) is not None and token[1] == "&&":
            self.take("&&")
            terms.append(self.primary())
        return terms[0] if len(terms) == 1 else (lambda event: all(term(event) for term in terms))

    def primary(self) -> Predicate:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        kind, selector = self.take()
        if kind != "selector":
            raise PatternError(f"expected a selector ($.name), found {selector!r}")
        operator_kind, operator = self.take()
        if operator_kind == "keyword":
            return lambda event: _lookup(event, selector) is _MISSING
        if operator not in ("=", "!="):
            raise PatternError(f"expected =, != or NOT EXISTS after {selector}, found {operator!r}")
        value_kind, raw = self.take()
        if value_kind not in ("quoted", "word"):
            raise PatternError(f"expected a value after {selector} {operator}, found {raw!r}")
        matches = _value_matcher(raw, value_kind)
        equal = operator == "="

        def compare(event: Mapping[str, Any]) -> bool:
            value = _lookup(event, selector)
            if value is _MISSING or isinstance(value, Mapping | list):
                return False
            text = str(value).lower() if isinstance(value, bool) else str(value)
            return matches(text) == equal

        return compare


def compile_pattern(pattern: str) -> Predicate:
    """A predicate over a decoded JSON log event; ``PatternError`` outside the supported subset."""
    parser = _Parser(_tokens(pattern))
    parser.take("{")
    predicate = parser.disjunction()
    parser.take("}")
    if parser.peek() is not None:
        raise PatternError(f"text after the closing brace: {parser.peek()!r}")
    return predicate


def matches(pattern: str, event: Mapping[str, Any]) -> bool:
    return compile_pattern(pattern)(event)
