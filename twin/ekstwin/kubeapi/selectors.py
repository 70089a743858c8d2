"""Label selectors (string and LabelSelector object forms) and field selectors.

The label-selector string goes through the same lexer and parser as apimachinery's
``labels.Parse``, with its error messages; field selectors are checked against the fields
each resource lets clients select on (``field label not supported: spec.nodeNmae``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ekstwin.kubeapi import names
from ekstwin.kubeapi.errors import BadRequest
from ekstwin.kubeapi.objects import dig

_SET_OPS: dict[str, Callable[[str | None, frozenset[str]], bool]] = {
    "in": lambda value, values: value is not None and value in values,
    "notin": lambda value, values: value is None or value not in values,
    "exists": lambda value, _: value is not None,
    "!exists": lambda value, _: value is None,
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key op values`` term; ops: in, notin, exists, !exists, gt, lt."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op in _SET_OPS:
            return _SET_OPS[self.op](value, self.values)
        if value is None:
            return False
        try:
            number, bound = int(value), int(next(iter(self.values)))
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound


Selector = Callable[[dict[str, Any]], bool]

# --- the labels.Parse lexer and parser -------------------------------------------------

_SYMBOLS = frozenset("=!(),><")
_TOKENS = {")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin", "("}
_ID, _END, _ERROR = "ID", "END", "ERROR"


def _lex(text: str) -> list[tuple[str, str]]:
    """``(token, literal)`` pairs; keywords and symbols are their own token."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            out.append((_END, ""))
            return out
        if text[i] in _SYMBOLS:
            buffer, last, j = "", "", i
            while j < n and text[j] in _SYMBOLS:
                buffer += text[j]
                if buffer in _TOKENS:
                    last, j = buffer, j + 1
                elif last:
                    break
                else:
                    j += 1
            if not last:
                out.append((_ERROR, f"error expected: keyword found '{buffer}'"))
                return [*out, (_END, "")]
            out.append((last, last))
            i = i + len(last)
            continue
        j = i
        while j < n and text[j] not in _SYMBOLS and text[j] not in " \t\r\n":
            j += 1
        word = text[i:j]
        out.append((word if word in {"in", "notin"} else _ID, word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def lookahead(self, values: bool) -> tuple[str, str]:
        tok, lit = self.items[self.position]
        if values and tok in {"in", "notin"}:
            tok = _ID
        return tok, lit

    def consume(self, values: bool) -> tuple[str, str]:
        found = self.lookahead(values)
        self.position = min(self.position + 1, len(self.items) - 1)
        return found

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.lookahead(True)
            if tok in {_ID, "!"}:
                try:
                    requirements.append(self.requirement())
                except ValueError as exc:
                    raise ValueError(f"unable to parse requirement: {exc}") from exc
                tok, lit = self.consume(True)
                if tok == _END:
                    return requirements
                if tok == ",":
                    nxt, nxt_lit = self.lookahead(True)
                    if nxt not in {_ID, "!"}:
                        raise ValueError(f"found '{nxt_lit}', expected: identifier after ','")
                    continue
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            if tok == _END:
                return requirements
            raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        op = ""
        tok, key = self.consume(True)
        if tok == "!":
            op = "!exists"
            tok, key = self.consume(True)
        if tok != _ID:
            raise ValueError(f"found '{key}', expected: identifier")
        problems = names.qualified_name(key)
        if problems:
            raise ValueError(f"invalid label key {_q(key)}: {'; '.join(problems)}")
        if self.lookahead(True)[0] in {_END, ","}:
            return Requirement(key, op or "exists")
        if op:
            return Requirement(key, op)
        tok, lit = self.consume(False)
        operators = {"in": "in", "notin": "notin", "=": "in", "==": "in", "!=": "notin"}
        operators.update({">": "gt", "<": "lt"})
        if tok not in operators:
            raise ValueError(f"found '{lit}', expected: '=', '!=', '==', 'in', notin'")
        values = self.set_values() if tok in {"in", "notin"} else self.exact_value()
        if tok in {"in", "notin"} and not values:
            raise ValueError("for 'in', 'notin' operators, values set can't be empty")
        if tok in {">", "<"} and not all(_is_int(v) for v in values):
            raise ValueError("for 'Gt', 'Lt' operators, the value must be an integer")
        for value in values:
            problems = names.label_value(value)
            if problems:
                raise ValueError(
                    f"invalid label value: {_q(value)}: at key: {_q(key)}: {'; '.join(problems)}"
                )
        return Requirement(key, operators[tok], frozenset(values))

    def set_values(self) -> set[str]:
        tok, lit = self.consume(True)
        if tok != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead(True)
        if tok == ")":
            self.consume(True)
            return {""}
        if tok not in {_ID, ","}:
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            tok, lit = self.consume(True)
            if tok == _ID:
                values.add(lit)
                nxt, nxt_lit = self.lookahead(True)
                if nxt == ",":
                    continue
                if nxt == ")":
                    break
                raise ValueError(f"found '{nxt_lit}', expected: ',' or ')'")
            if tok == ",":
                if not values:
                    values.add("")
                nxt, _ = self.lookahead(True)
                if nxt == ")":
                    values.add("")
                    break
                if nxt == ",":
                    self.consume(True)
                    values.add("")
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")
        tok, _ = self.consume(True)
        if tok != ")":
            raise ValueError(f"found '{lit}', expected: ')'")
        return values

    def exact_value(self) -> set[str]:
        tok, lit = self.lookahead(True)
        if tok in {_END, ","}:
            return {""}
        tok, lit = self.consume(True)
        if tok == _ID:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_int(text: str) -> bool:
    try:
        int(text, 10)
    except ValueError:
        return False
    return True


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``app=web,tier in (a,b),!canary``; ``BadRequest`` as ``labels.Parse`` words it."""
    try:
        return _Parser(text).parse()
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def label_selector(text: str | None) -> Selector:
    """A predicate on objects for a label selector string (``None``/empty: everything)."""
    if not text:
        return _everything
    requirements = parse_label_selector(text)

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def selector_object_matches(selector: dict[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a ``LabelSelector`` object (matchLabels/matchExpressions) matches ``labels``.

    An empty selector matches everything; callers decide what a missing one means.
    """
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        op = ops.get(str(expression.get("operator")))
        if op is None:
            return False
        values = frozenset(str(v) for v in expression.get("values") or [])
        if not Requirement(str(expression.get("key")), op, values).matches(labels):
            return False
    return True


# --- field selectors --------------------------------------------------------------------

FieldGetter = Callable[[dict[str, Any]], str]
_META = ("metadata.name", "metadata.namespace")


def _path(path: str, default: str = "") -> FieldGetter:
    def get(obj: dict[str, Any]) -> str:
        value = dig(obj, path)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


def _pod_ip(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    ips = status.get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip") or "")
    return str(status.get("podIP") or "")


def _event_source(obj: dict[str, Any]) -> str:
    return str(dig(obj, "source.component") or obj.get("reportingComponent") or "")


# Resources whose kind registers a field-label conversion (all of them also take the
# metadata fields); the others get apimachinery's default conversion.
SELECTABLE: dict[str, dict[str, FieldGetter]] = {
    "pods": {
        "spec.nodeName": _path("spec.nodeName"),
        "spec.restartPolicy": _path("spec.restartPolicy"),
        "spec.schedulerName": _path("spec.schedulerName"),
        "spec.serviceAccountName": _path("spec.serviceAccountName"),
        "spec.hostNetwork": _path("spec.hostNetwork", "false"),
        "status.phase": _path("status.phase"),
        "status.podIP": _pod_ip,
        "status.podIPs": _pod_ip,
        "status.nominatedNodeName": _path("status.nominatedNodeName"),
        "spec.host": _path("spec.nodeName"),  # what old v1 clients send
    },
    "nodes": {"spec.unschedulable": _path("spec.unschedulable", "false")},
    "namespaces": {"status.phase": _path("status.phase"), "name": _path("metadata.name")},
    "secrets": {"type": _path("type")},
    "replicasets.apps": {"status.replicas": _path("status.replicas", "0")},
    "events": {
        **{
            f"involvedObject.{f}": _path(f"involvedObject.{f}")
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion")
        },
        "involvedObject.fieldPath": _path("involvedObject.fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _event_source,
        "type": _path("type"),
    },
}


def _split_terms(text: str) -> list[str]:
    """``fields.splitTerms``: split on commas not escaped with a backslash."""
    terms, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current + ("\\" if escaped else ""))
    return terms


def _unescape(value: str) -> str:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{char}")
            out += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise BadRequest(f"invalid field selector: unescaped character in value: {char}")
        else:
            out += char
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return out


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """``fields.ParseSelector``: ``(field, negated, value)`` terms, sorted as Go sorts them."""
    terms: list[tuple[str, bool, str]] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        for i in range(len(part)):
            op = next((o for o in ("!=", "==", "=") if part.startswith(o, i)), None)
            if op is not None:
                terms.append((part[:i], op == "!=", _unescape(part[i + len(op) :])))
                break
        else:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
    return terms


def field_selector(text: str | None) -> Selector:
    """A predicate for ``metadata.name=x,spec.nodeName!=n1`` over any dotted path."""
    if not text:
        return _everything
    terms = parse_field_selector(text)
    getters: list[tuple[FieldGetter, bool, str]] = [
        (_path(f, "false" if f == "spec.unschedulable" else ""), n, v) for f, n, v in terms
    ]
    return _field_matcher(getters)


def field_selector_for(resource: str, text: str | None) -> Selector:
    """A field-selector predicate for ``resource``; ``BadRequest`` for an unsupported field,
    worded as the resource's field-label conversion words it."""
    if not text:
        return _everything
    own = SELECTABLE.get(resource)
    getters: list[tuple[FieldGetter, bool, str]] = []
    for name, negated, value in parse_field_selector(text):
        if name in _META:
            getters.append((_path(name), negated, value))
        elif own is not None and name in own:
            getters.append((own[name], negated, value))
        elif own is not None:
            raise BadRequest(f"field label not supported: {name}")
        else:
            raise BadRequest(
                f'"{name}" is not a known field selector: only "metadata.name", '
                '"metadata.namespace"'
            )
    return _field_matcher(getters)


def _field_matcher(getters: list[tuple[FieldGetter, bool, str]]) -> Selector:
    def matches(obj: dict[str, Any]) -> bool:
        return all((get(obj) == value) != negated for get, negated, value in getters)

    return matches


def _everything(_: dict[str, Any]) -> bool:
    return True
