"""A KQL parser written from Kibana's grammar, rule for rule, to check KQL strings without Kibana.

Source: elastic/kibana src/platform/packages/shared/kbn-es-query/src/kuery/grammar/grammar.peggy (a PEG:
ordered choice, greedy repetition, backtracking per alternative). The cursor rules (autocomplete) are left
out; everything else is here under the grammar's own names. `parse` returns a small tree:
  ("or"|"and", [nodes]) · ("not", node) · ("nested", field, node) · ("range", field, op, value)
  · ("is", field, value) — field None for a bare value; ("match_all",) for an empty query.
Values and fields are (text, quoted, wildcard) triples. A string Kibana would refuse raises KqlError.
"""

from __future__ import annotations

SPACE = " \t\r\n\u00a0"
SPECIAL = '\\():<>"*{}'
RANGE_OPERATORS = (("<=", "lte"), (">=", "gte"), ("<", "lt"), (">", "gt"))
ESCAPED_WHITESPACE = {"\\t": "\t", "\\r": "\r", "\\n": "\n"}
HEX = "0123456789abcdefABCDEF"


class KqlError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str):
        self.s = text

    def at(self, pos: int, literal: str, fold: bool = False) -> bool:
        part = self.s[pos:pos + len(literal)]
        return (part.lower() == literal) if fold else part == literal

    def space(self, pos: int) -> bool:
        return pos < len(self.s) and self.s[pos] in SPACE

    def spaces(self, pos: int, at_least: int = 0) -> int | None:
        start = pos
        while self.space(pos):
            pos += 1
        return pos if pos - start >= at_least else None

    # Or = Space+ 'or'i Space+ ; And = Space+ 'and'i Space+ ; Not = 'not'i Space+
    def keyword(self, pos: int, word: str) -> int | None:
        pos = self.spaces(pos, 1)
        if pos is None or not self.at(pos, word, fold=True):
            return None
        return self.spaces(pos + len(word), 1)

    def not_(self, pos: int) -> int | None:
        return self.spaces(pos + 3, 1) if self.at(pos, "not", fold=True) else None

    def joined(self, pos: int, item, word: str, kind: str):
        """head:Item tail:(Word Item)+ / Item"""
        first = item(pos)
        if first is None:
            return None
        nodes, pos = [first[0]], first[1]
        while (after := self.keyword(pos, word)) is not None and (nxt := item(after)) is not None:
            nodes.append(nxt[0])
            pos = nxt[1]
        return ((kind, nodes) if len(nodes) > 1 else nodes[0]), pos

    def or_query(self, pos):
        return self.joined(pos, self.and_query, "or", "or")

    def and_query(self, pos):
        return self.joined(pos, self.not_query, "and", "and")

    def not_query(self, pos):
        after = self.not_(pos)
        if after is not None and (sub := self.sub_query(after)) is not None:
            return ("not", sub[0]), sub[1]
        return self.sub_query(pos)

    def bracketed(self, pos, open_: str, close: str, inner):
        """open Space* inner OptionalSpace close"""
        if not self.at(pos, open_):
            return None
        found = inner(self.spaces(pos + 1))
        if found is None:
            return None
        end = self.spaces(found[1])
        return (found[0], end + 1) if self.at(end, close) else None

    def sub_query(self, pos):
        return self.bracketed(pos, "(", ")", self.or_query) or self.nested_query(pos)

    def nested_query(self, pos):
        field = self.literal(pos)
        if field is not None:
            colon = self.spaces(field[1])
            if self.at(colon, ":"):
                found = self.bracketed(self.spaces(colon + 1), "{", "}", self.or_query)
                if found is not None:
                    return ("nested", field[0], found[0]), found[1]
        return self.expression(pos)

    def expression(self, pos):
        return self.field_range(pos) or self.field_value(pos) or self.value_expression(pos)

    def field_range(self, pos):
        field = self.literal(pos)
        if field is None:
            return None
        op_at = self.spaces(field[1])
        for symbol, name in RANGE_OPERATORS:
            if self.at(op_at, symbol):
                value = self.literal(self.spaces(op_at + len(symbol)))
                return (("range", field[0], name, value[0]), value[1]) if value else None
        return None

    def field_value(self, pos):
        field = self.literal(pos)
        if field is None:
            return None
        colon = self.spaces(field[1])
        if not self.at(colon, ":"):
            return None
        values = self.list_of_values(self.spaces(colon + 1))
        return (_apply(values[0], field[0]), values[1]) if values else None

    def value_expression(self, pos):
        value = self.value(pos)
        return (_apply(value[0], None), value[1]) if value else None

    # ListOfValues and its or/and/not: trees of values, given their field afterwards (_apply).
    def list_of_values(self, pos):
        return self.bracketed(pos, "(", ")", self.or_list) or self.value(pos)

    def or_list(self, pos):
        return self.joined(pos, self.and_list, "or", "or")

    def and_list(self, pos):
        return self.joined(pos, self.not_list, "and", "and")

    def not_list(self, pos):
        after = self.not_(pos)
        if after is not None and (values := self.list_of_values(after)) is not None:
            return ("not", values[0]), values[1]
        return self.list_of_values(pos)

    def value(self, pos):
        found = self.quoted_string(pos) or self.unquoted_literal(pos)
        return (("value", found[0]), found[1]) if found else None

    def literal(self, pos):
        return self.quoted_string(pos) or self.unquoted_literal(pos)

    def quoted_string(self, pos):
        if not self.at(pos, '"'):
            return None
        pos, chars = pos + 1, []
        while pos < len(self.s) and self.s[pos] != '"':
            char, pos = self.quoted_character(pos)
            chars.append(char)
        if pos >= len(self.s):
            return None  # no closing quote
        return ("".join(chars), True, False), pos + 1

    def quoted_character(self, pos):
        two = self.s[pos:pos + 2]
        if two in ESCAPED_WHITESPACE:
            return ESCAPED_WHITESPACE[two], pos + 2
        if (unicode := self.unicode_sequence(pos)) is not None:
            return unicode
        if two in ('\\\\', '\\"'):
            return two[1], pos + 2
        return self.s[pos], pos + 1

    def unicode_sequence(self, pos):
        """EscapedUnicodeSequence = '\\' 'u' HexDigit{4}"""
        digits = self.s[pos + 2:pos + 6]
        if self.at(pos, "\\u") and len(digits) == 4 and all(d in HEX for d in digits):
            return chr(int(digits, 16)), pos + 6
        return None

    def is_keyword(self, pos) -> bool:
        """Keyword = Space 'or'i Space / Space 'and'i Space / 'not'i Space"""
        for word in ("or", "and"):
            if self.space(pos) and self.at(pos + 1, word, fold=True) and self.space(pos + 1 + len(word)):
                return True
        return self.at(pos, "not", fold=True) and self.space(pos + 3)

    def unquoted_character(self, pos):
        """Returns (char, is_wildcard, pos) or None."""
        two = self.s[pos:pos + 2]
        if two in ESCAPED_WHITESPACE:
            return ESCAPED_WHITESPACE[two], False, pos + 2
        if len(two) == 2 and two[0] == "\\" and two[1] in SPECIAL:
            return two[1], False, pos + 2
        if (unicode := self.unicode_sequence(pos)) is not None:
            return unicode[0], False, unicode[1]
        for word in ("or", "and", "not"):
            if self.at(pos, "\\") and self.at(pos + 1, word, fold=True):
                return self.s[pos + 1:pos + 1 + len(word)], False, pos + 1 + len(word)
        if self.at(pos, "*"):
            return "*", True, pos + 1
        if pos < len(self.s) and self.s[pos] not in SPECIAL and not self.is_keyword(pos):
            return self.s[pos], False, pos + 1
        return None

    def unquoted_literal(self, pos):
        chars, wildcard = [], False
        while (found := self.unquoted_character(pos)) is not None:
            chars.append(found[0])
            wildcard |= found[1]
            pos = found[2]
        return (("".join(chars).strip(), False, wildcard), pos) if chars else None


def _apply(values, field):
    """A ListOfValues tree with its field: what the grammar's partial(field) builds."""
    kind = values[0]
    if kind == "value":
        return ("is", field, values[1])
    if kind == "not":
        return ("not", _apply(values[1], field))
    return (kind, [_apply(v, field) for v in values[1]])


def parse(query: str):
    """start = Space* query:OrQuery? trailing:OptionalSpace, and nothing after it."""
    parser = _Parser(query)
    pos = parser.spaces(0)
    found = parser.or_query(pos)
    node, pos = found if found else (("match_all",), pos)
    pos = parser.spaces(pos)
    if pos != len(query):
        raise KqlError(f"KQL syntax error at character {pos}: {query[pos:pos + 20]!r} in {query!r}")
    return node


def fields(node) -> list[tuple[str, bool]]:
    """Every field a parsed query names: (name, has a wildcard)."""
    kind = node[0]
    if kind in ("or", "and"):
        return [f for child in node[1] for f in fields(child)]
    if kind == "not":
        return fields(node[1])
    if kind == "nested":
        return [(node[1][0], node[1][2]), *fields(node[2])]
    if kind in ("range", "is") and node[1] is not None:
        return [(node[1][0], node[1][2])]
    return []


def to_dsl(node) -> dict:
    """The Elasticsearch query a parsed KQL tree stands for, for the trees these objects use (what
    kbn-es-query's functions/is.ts and range.ts build: a quoted value is a phrase, an unquoted one a match,
    `*` alone an exists). Enough to count documents on a live index; not Kibana's full translation."""
    kind = node[0]
    if kind == "match_all":
        return {"match_all": {}}
    if kind in ("or", "and"):
        key = "should" if kind == "or" else "filter"
        extra = {"minimum_should_match": 1} if kind == "or" else {}
        return {"bool": {key: [to_dsl(child) for child in node[1]], **extra}}
    if kind == "not":
        return {"bool": {"must_not": [to_dsl(node[1])]}}
    if kind == "range":
        return {"range": {node[1][0]: {node[2]: node[3][0]}}}
    if kind == "is":
        field, (value, quoted, _) = node[1], node[2]
        if field is None:
            return {"multi_match": {"query": value, "type": "phrase" if quoted else "best_fields", "lenient": True}}
        if value == "*" and not quoted:
            return {"exists": {"field": field[0]}}
        return {"match_phrase" if quoted else "match": {field[0]: value}}
    raise ValueError(f"no translation for {kind}")
