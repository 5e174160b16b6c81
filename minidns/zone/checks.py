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
from .model import NameKey, Zone, name_key, wire_to_label
from .text import parse_name

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
class Place:
    """Where a record was read: a file and line (a database and row id)."""

    path: str
    line: int


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
class _Target:
    place: Place
    rtype: int
    written: str
    name: DNSLabel


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
    _singletons: dict[tuple[NameKey, int], list[Place]] = field(default_factory=dict)
    _targets: list[_Target] = field(default_factory=list)

    def record(
        self, owner: bytes, rtype: int, tokens: list[str], origin: DNSLabel, path: str, line: int
    ) -> None:
        """A record read at `path`:`line`: `rtype` at `owner` (in wire form), with these rdata
        tokens. Only the types in RULED_TYPES need be told."""
        if rtype in SINGLETONS:
            key = (owner.lower(), rtype)  # the name's key (minidns.zone.model)
            self._singletons.setdefault(key, []).append(Place(path, line))
        position = TARGET_FIELD.get(rtype)
        if position is None or position >= len(tokens):
            return
        token = tokens[position]  # a target written without its final dot, with a dot inside
        if token.endswith(".") or "." not in token or token.startswith('"') or "\\" in token:
            return
        self._targets.append(_Target(Place(path, line), rtype, token, parse_name(token, origin)))

    def errors(self, zone: Zone) -> list[ZoneError]:
        """What the zone may not hold, with where it was read, in the order read."""
        found: list[tuple[Place, str]] = []
        apex = name_key(self.origin)
        for (key, rtype), places in self._singletons.items():
            node = zone.node(key) or {}
            rrset = node.get(rtype)
            owner = rrset.name if rrset is not None else wire_to_label(key)
            mnemonic, rule = SINGLETONS[rtype]
            if rtype == QTYPE.CNAME and key == apex:
                reason = "a CNAME at the zone apex, which has SOA and NS (RFC 1912 §2.4)"
                found.append((places[0], f"{owner}: {reason}"))
                continue
            if rrset is not None and len(rrset.rdatas) > 1:
                found.append((places[1], f"{owner}: more than one {mnemonic} ({rule})"))
            others = sorted(set(node) - CNAME_COMPANIONS) if rtype == QTYPE.CNAME else []
            if others:
                types = ", ".join(QTYPE.get(code, f"TYPE{code}") for code in others)
                reason = f"CNAME and other data ({types}) (RFC 1034 §3.6.2, RFC 2181 §10.1)"
                found.append((places[0], f"{owner}: {reason}"))
        found.sort(key=lambda item: (item[0].path, item[0].line))
        return [ZoneError(place.path, place.line, reason) for place, reason in found]

    def warnings(self, zone: Zone) -> list[ZoneWarning]:
        """Targets written without their final dot that own nothing in this zone (and that no
        wildcard covers and no zone cut delegates)."""
        warnings = []
        for target in self._targets:
            if _answered_here(zone, target.name, len(self.origin.label)):
                continue
            mnemonic = QTYPE.get(target.rtype, f"TYPE{target.rtype}")
            warnings.append(
                ZoneWarning(
                    target.place.path,
                    target.place.line,
                    f"{mnemonic} target {target.written} has no trailing dot, so it reads as "
                    f"{target.name}, which owns nothing here; write {target.written}. if that "
                    "was meant",
                )
            )
        return warnings


def _answered_here(zone: Zone, name: DNSLabel, apex_labels: int) -> bool:
    """Whether `name` owns records, is covered by a wildcard, or is delegated (roughly, for a
    warning: RFC 4592's closest encloser is not worked out)."""
    if not zone.contains(name_key(name)) or zone.node(name_key(name)):
        return True
    labels = name.label
    for start in range(1, len(labels) - apex_labels + 1):
        ancestor = labels[start:]
        if zone.node(name_key(DNSLabel((b"*", *ancestor)))):
            return True  # RFC 4592: a wildcard answers for it
        if start < len(labels) - apex_labels and zone.get(name_key(DNSLabel(ancestor)), QTYPE.NS):
            return True  # at or below a zone cut: another zone's name
    return False
