"""Pre-packed answers for names that do not exist, shared by every such name of the same shape.

For a name that does not exist in a zone, the answer (NXDOMAIN, or records synthesized from a
wildcard, RFC 4592) depends only on its closest encloser, never on the labels below it; the
packed response differs from one name to another only in the question, whose offsets stay
the same when the labels below the closest encloser have the same length. So a response is
kept as a template keyed on (question shape, closest encloser, length of those labels), and a
hit copies the query's ID and name into it: never-repeated names under a wildcard or an
NXDOMAIN cost a descent of the zone tree instead of a full parse, answer and pack.

A template is kept only after a check: the same query for a probe name (every octet of those
labels changed) must give the same response bytes outside the question. Any dependence on
the name (a record pointing at the name itself, a probe name that exists, ...) fails the check
and that shape always takes the slow path.
"""

from __future__ import annotations

from collections.abc import Callable

from minidns.answer import Match, descend
from minidns.cache import HEADER_LENGTH, QueryKey
from minidns.zone.model import NameKey, ZoneSet

Responder = Callable[[bytes], bytes | None]


def question_labels(wire: bytes, name_end: int) -> NameKey:
    """The question name's labels, case-folded, from a query `cache.query_key` accepted."""
    labels = []
    position = HEADER_LENGTH
    end = name_end - 1
    while position < end:
        length = wire[position]
        labels.append(wire[position + 1 : position + 1 + length].lower())
        position += 1 + length
    return tuple(labels)


class NameTemplates:
    """Responses for names that do not exist, by closest encloser and prefix length."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._templates: dict[tuple[bytes, NameKey, int], tuple[bytes, bytes] | None] = {}

    def __len__(self) -> int:
        return len(self._templates)

    def clear(self) -> None:
        self._templates.clear()

    def _key(
        self, zones: ZoneSet, wire: bytes, found: QueryKey
    ) -> tuple[bytes, NameKey, int] | None:
        labels = question_labels(wire, found.name_end)
        zone = zones.find(labels)
        if zone is None:
            return None
        qtype = int.from_bytes(wire[found.name_end : found.name_end + 2], "big")
        descent = descend(zone, labels, qtype)
        if descent.match is not Match.NO_NAME:
            return None
        encloser = descent.key
        prefix = sum(1 + len(label) for label in labels[: len(labels) - len(encloser)])
        shape = found.key[2 + found.name_end - HEADER_LENGTH :]  # flags, type, class, EDNS
        return (found.key[:2] + shape, encloser, prefix)

    def lookup(self, zones: ZoneSet, wire: bytes, found: QueryKey) -> bytes | None:
        """The response from a template, with this query's ID and name, or None."""
        key = self._key(zones, wire, found)
        if key is None:
            return None
        template = self._templates.get(key)
        if template is None:
            return None
        return wire[:2] + template[0] + wire[HEADER_LENGTH : found.name_end] + template[1]

    def learn(
        self, zones: ZoneSet, wire: bytes, found: QueryKey, response: bytes, respond: Responder
    ) -> None:
        """Keep `response` as a template if a probe name of the same shape gets the same."""
        key = self._key(zones, wire, found)
        if key is None or key in self._templates:
            return
        if len(self._templates) >= self.max_entries:
            self._templates.clear()
        prefix_end = HEADER_LENGTH + key[2]
        probe = (
            wire[:HEADER_LENGTH] + _other_labels(wire[HEADER_LENGTH:prefix_end]) + wire[prefix_end:]
        )
        probe_response = respond(probe)
        name_end = found.name_end
        same = (
            probe_response is not None
            and probe_response[2:HEADER_LENGTH] == response[2:HEADER_LENGTH]
            and probe_response[name_end:] == response[name_end:]
            and response[HEADER_LENGTH:name_end] == wire[HEADER_LENGTH:name_end]
        )
        # A failed check is remembered too (None), so that shape is not probed again.
        self._templates[key] = (response[2:HEADER_LENGTH], response[name_end:]) if same else None


def _other_labels(labels: bytes) -> bytes:
    """The same labels (same lengths) with every octet changed."""
    out = bytearray(labels)
    position = 0
    while position < len(out):
        length = out[position]
        for index in range(position + 1, position + 1 + length):
            out[index] = ord("q") if out[index] not in (ord("q"), ord("Q")) else ord("z")
        position += 1 + length
    return bytes(out)
