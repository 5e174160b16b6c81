"""What a zone may not hold beyond each record's own syntax, and what deserves a warning.

Both loaders tell a :class:`ZoneRules` where each record came from as they add it, and ask it
once the zone is read. The rules are those ``named-checkzone`` and ``pdnsutil check-zone``
apply:

- a CNAME is alone at its name (RFC 1034 §3.6.2, RFC 2181 §10.1), beside only the DNSSEC
  records that sign or deny it (RRSIG, NSEC: RFC 4035 §2.5), and there is one CNAME per name;
- so no CNAME at the zone apex, which has SOA and NS (RFC 1912 §2.4);
- one DNAME per name (RFC 6672 §2.4).

Warning, not error (PowerDNS and BIND serve it the same way): a target name written without
its trailing dot, with a dot inside (``mail.example.org``), that reads as a name of this zone
owning nothing (``mail.example.org.example.org.``) — almost always a forgotten dot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dnslib import QTYPE, DNSLabel

from .errors import ZoneError
from .model import (
    RRSET_HEADER,
    NameKey,
    Zone,
    label_offsets,
    name_key,
    rrsets_of,
    wire_to_label,
)
from .plain import plain_name

CNAME_COMPANIONS = frozenset((QTYPE.CNAME, QTYPE.RRSIG, QTYPE.NSEC))  # RFC 4035 §2.5
# Types of which a name has one record at most, and the rule that says so.
SINGLETONS = {QTYPE.CNAME: ("CNAME", "RFC 2181 §10.1"), QTYPE.DNAME: ("DNAME", "RFC 6672 §2.4")}

# Where each type's rdata holds a target name, as a position among its rdata tokens.
TARGET_FIELD = {
    QTYPE.CNAME: 0, QTYPE.NS: 0, QTYPE.PTR: 0, QTYPE.DNAME: 0, QTYPE.MX: 1, 18: 1,  # AFSDB
    21: 1, 36: 1, QTYPE.SRV: 3, QTYPE.NAPTR: 5, 64: 1, 65: 1,  # RT, KX; SVCB, HTTPS
}  # fmt: skip
RULED_TYPES = frozenset(SINGLETONS) | frozenset(TARGET_FIELD)


@dataclass(frozen=True)
class ZoneWarning:
    """Something a zone holds that loads, but is probably not what was meant."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.reason}"
            if self.line
            else f"{self.path}: {self.reason}"
        )


@dataclass
class ZoneReport:
    """What reading a zone found besides its records: its warnings and, when `check` is set,
    every error (reading goes on past a bad record) where otherwise the first is raised."""

    check: bool = False
    errors: list[ZoneError] = field(default_factory=list)
    warnings: list[ZoneWarning] = field(default_factory=list)

    def error(self, error: ZoneError) -> None:
        """Raise `error`, or keep it when checking."""
        if not self.check:
            raise error
        self.errors.append(error)


@dataclass
class ZoneRules:
    """The rules of one zone, fed record by record while it is read."""

    origin: DNSLabel
    # Where the first record of each (name key, CNAME or DNAME) was read, and the second.
    _first: dict[tuple[NameKey, int], tuple[str, int]] = field(default_factory=dict)
    _second: dict[tuple[NameKey, int], tuple[str, int]] = field(default_factory=dict)
    _targets: list[tuple[tuple[str, int], int, str, bytes]] = field(default_factory=list)

    def record(
        self, owner: bytes, rtype: int, tokens: list[str], origin: bytes, path: str, line: int
    ) -> None:
        """A record read at `path`:`line`: `rtype` at `owner`, with these rdata tokens, whose
        relative names are relative to `origin` (names in wire form). Only the types in
        RULED_TYPES need be told."""
        if rtype in SINGLETONS:
            key = (owner.lower(), rtype)  # the name's key (minidns.zone.model)
            place = (path, line)
            if self._first.setdefault(key, place) is not place:
                self._second.setdefault(key, place)
        position = TARGET_FIELD.get(rtype)
        if position is None or position >= len(tokens):
            return
        token = tokens[position]  # a target written without its final dot, with a dot inside
        if token[-1] == "." or "." not in token or token[0] == '"' or "\\" in token:
            return
        self._targets.append(((path, line), rtype, token, origin))

    def errors(self, zone: Zone) -> list[ZoneError]:
        """What the zone may not hold, with where it was read, in the order read."""
        found: list[tuple[tuple[str, int], str]] = []
        apex = name_key(self.origin)
        names = zone.names
        for (key, rtype), place in self._first.items():
            node = names.get(key, b"")
            if len(node) >= RRSET_HEADER.size and key != apex:
                rrset_type, count, length = RRSET_HEADER.unpack_from(node)
                if rrset_type == rtype and count == 1 and len(node) == RRSET_HEADER.size + length:
                    continue  # the usual case: a CNAME (or DNAME) alone at its name
            counts = {code: number for code, number, _ in rrsets_of(node)}
            owner = wire_to_label(zone.spelling(key))
            mnemonic, rule = SINGLETONS[rtype]
            if rtype == QTYPE.CNAME and key == apex:
                reason = "a CNAME at the zone apex, which has SOA and NS (RFC 1912 §2.4)"
                found.append((place, f"{owner}: {reason}"))
                continue
            if counts.get(rtype, 0) > 1:
                second = self._second.get((key, rtype), place)
                found.append((second, f"{owner}: more than one {mnemonic} ({rule})"))
            others = sorted(set(counts) - CNAME_COMPANIONS) if rtype == QTYPE.CNAME else []
            if others:
                types = ", ".join(QTYPE.get(code, f"TYPE{code}") for code in others)
                reason = f"CNAME and other data ({types}) (RFC 1034 §3.6.2, RFC 2181 §10.1)"
                found.append((place, f"{owner}: {reason}"))
        found.sort()
        return [ZoneError(path, line, reason) for (path, line), reason in found]

    def warnings(self, zone: Zone) -> list[ZoneWarning]:
        """Targets written without their final dot that own nothing in this zone (and that no
        wildcard covers and no zone cut delegates)."""
        warnings = []
        for (path, line), rtype, written, origin in self._targets:
            name = plain_name(written, origin)
            if name is None or _answered_here(zone, name.lower()):
                continue
            mnemonic = QTYPE.get(rtype, f"TYPE{rtype}")
            warnings.append(
                ZoneWarning(
                    path,
                    line,
                    f"{mnemonic} target {written} has no trailing dot, so it reads as "
                    f"{wire_to_label(name)}, which owns nothing here; write {written}. if that "
                    "was meant",
                )
            )
        return warnings


def _answered_here(zone: Zone, key: NameKey) -> bool:
    """Whether the name `key` owns records, is covered by a wildcard, or is delegated
    (roughly, for a warning: RFC 4592's closest encloser is not worked out)."""
    names = zone.names
    if not zone.contains(key) or names.get(key):
        return True
    apex = len(key) - len(zone.origin_key)
    for offset in label_offsets(key)[1:]:
        if offset > apex:
            break
        ancestor = key[offset:]
        if names.get(b"\x01*" + ancestor):
            return True  # RFC 4592: a wildcard answers for it
        if ancestor in zone.cuts:
            return True  # at or below a zone cut: another zone's name
    return False
