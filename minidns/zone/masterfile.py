"""RFC 1035 §5 master files ("zone files") into a :class:`~minidns.zone.model.Zone`.

Supported: ``$ORIGIN`` (a relative origin is joined to the current one), ``$TTL`` (RFC 2308 §4),
``$INCLUDE file [origin]`` (the path is relative to the including file; the including file's
origin is restored afterwards, RFC 1035 §5.1; loops and nesting deeper than 16 are errors),
BIND's ``$GENERATE start-stop[/step]`` with ``$`` and ``${offset,width,base}`` (base d, o, x or
X), ``@``, omitted owners, TTL and class in either order, TTL units, ``\\X`` and ``\\DDD``
escapes, quoted strings, and RFC 3597 generic types and rdata. Only class IN is accepted.

A record without a TTL takes the ``$TTL`` (RFC 2308 §4); without ``$TTL``, the last TTL given
explicitly (RFC 1035 §5.1). An SOA without a TTL before any TTL is known takes its own MINIMUM,
which then is the default TTL, as BIND does; any other record with no TTL to take is an error.

Where PowerDNS 4.7's bind backend reads a file differently (asserted by the interop tests in
tests/minidns/test_masterfile_pdns_differences.py, test_masterfile_types.py, test_corpus_zones.py):

- a relative ``$ORIGIN`` is taken as absolute by PowerDNS; here it is joined to the current one;
- PowerDNS ignores the origin argument of ``$INCLUDE``; here the file is read with it;
- PowerDNS refuses TTLs with several units on a record (``1h30m``) and misreads them in
  ``$TTL``; here they are read as BIND reads them (single units, ``90m``, read the same);
- relative names in MB, MG, MR, MINFO, NAPTR and SVCB/HTTPS rdata are left unqualified by
  PowerDNS; here the origin is appended, as in every other type;
- PowerDNS takes 3600 where no TTL is known; here the SOA MINIMUM (BIND);
- PowerDNS takes bare TXT words as one string (``TXT a b`` is "a b"); here each word is one
  <character-string>, and bare words may be mixed with quoted strings;
- PowerDNS does not read ``\\#`` rdata for known types, CERT type mnemonics, quoted SvcParam
  values, SvcParam dohpath, or type WALLET; minidns does;
- a ``\\`` followed by fewer than three digits (``\\2``): PowerDNS loads the file but cannot
  serve the record; here the file is refused;
- PowerDNS cuts a TXT string over 255 octets into 255-octet strings and serves a CNAME beside
  other data; here, as with named-checkzone, the file is refused (`minidns.zone.checks`).

Only regular files are read (a FIFO or a device is refused: it would block or never end), of
at most MAX_FILE_OCTETS, the zone file and all it includes together.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from typing import TextIO

from dnslib import QTYPE, DNSLabel

from .builder import ZoneBuilder
from .checks import RULED_TYPES, ZoneReport, ZoneRules
from .errors import FieldError, ZoneError
from .lexer import Entry, Lexer, plain_tokens
from .model import Zone, name_wire, wire_to_label
from .plain import PLAIN_RDATA, PLAIN_TYPES, plain_name
from .rdata import MAX_RDATA_LENGTH, check_rdata_length, parse_rdata, rdata_to_wire, rrtype_code
from .text import MAX_TTL, ROOT, parse_int, parse_name, parse_ttl

MAX_INCLUDE_DEPTH = 16
MAX_FILE_OCTETS = 1 << 30  # a zone file, and all it includes together: 1 GiB
CLASSES = {"IN": 1, "CS": 2, "CH": 3, "HS": 4}
META_TYPES = frozenset((QTYPE.OPT, QTYPE.TSIG, QTYPE.TKEY))
_GENERIC_CLASS = re.compile(r"CLASS(\d{1,5})", re.IGNORECASE)
_GENERATE_RANGE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
_GENERATE_DOLLAR = re.compile(r"\$(?:\{(-?\d+)(?:,(\d+)(?:,([doxX]))?)?\})?|\\\$")


def load_master_file(
    path: str | os.PathLike[str], origin: DNSLabel | str, report: ZoneReport | None = None
) -> Zone:
    """Read the zone `origin` from a master file; raises ZoneError naming file and line.

    With `report`, warnings are added to it, and when it checks (`ZoneReport.check`) so is
    every error, reading going on past them; the zone returned is then what could be read.
    """
    path = str(path)
    try:
        lines, size = open_zone_file(path, "cannot read the zone file")
    except FieldError as error:
        raise ZoneError(path, 0, str(error)) from None
    try:
        with lines:
            return _read_zone(lines, origin, path, report, size)
    except OSError as error:
        raise ZoneError(path, 0, f"cannot read the zone file: {error.strerror}") from None


def open_zone_file(path: str, doing: str) -> tuple[TextIO, int]:
    """A zone file opened for reading, and its size: a regular file (not a FIFO, a device, a
    directory) of at most MAX_FILE_OCTETS, read as UTF-8 where it is (other octets kept as
    they are). Errors say `doing` (``cannot $INCLUDE x``) first."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block us
    except OSError as error:
        raise FieldError(f"{doing}: {error.strerror}") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_FILE_OCTETS:
        os.close(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise FieldError(f"{doing}: not a regular file (a FIFO, a device or a directory)")
        raise FieldError(f"{doing}: over {MAX_FILE_OCTETS:,} octets")
    return open(descriptor, encoding="utf-8", errors="surrogateescape"), status.st_size


def parse_master_file(
    text: str, origin: DNSLabel | str, path: str = "<zone>", report: ZoneReport | None = None
) -> Zone:
    """The zone `origin` from master-file text (``$INCLUDE`` paths relative to `path`)."""
    return _read_zone(text.split("\n"), origin, path, report, len(text))


def _read_zone(
    lines: Iterable[str], origin: DNSLabel | str, path: str, report: ZoneReport | None, size: int
) -> Zone:
    try:
        origin_label = origin if isinstance(origin, DNSLabel) else parse_name(origin, ROOT)
    except FieldError as error:
        raise ZoneError(path, 0, f"bad zone origin: {error}") from None
    reader = _Reader(ZoneBuilder(origin_label), path, report or ZoneReport())
    reader.octets = size
    reader.read(lines, path, origin_label, [os.path.abspath(path)])
    return reader.finish()


class _Reader:
    """The state carried from one entry to the next while a zone's files are read."""

    def __init__(self, builder: ZoneBuilder, path: str, report: ZoneReport) -> None:
        self.builder = builder
        self.path = path
        self.report = report
        self.rules = ZoneRules(builder.origin)
        self.octets = 0  # of the zone file and the files it includes
        self.default_ttl: int | None = None  # $TTL
        self.last_ttl: int | None = None  # the last TTL given explicitly
        self.last_owner: bytes | None = None  # in wire form
        self.last_owner_token = ""  # as written, and the origin then: to parse it once
        self.last_owner_origin: DNSLabel | None = None

    def read(self, lines: Iterable[str], path: str, origin: DNSLabel, stack: list[str]) -> None:
        """Read one file; `stack` holds the files including it, to stop include loops.

        A bad record raises ZoneError, or when checking is noted and reading goes on."""
        origin_wire = name_wire(origin)
        lexer = Lexer(path)
        report = self.report
        for number, line in enumerate(lines, 1):
            if lexer.entry is None and (tokens := plain_tokens(line)) is not None:
                if not tokens:
                    continue
                try:
                    if self.plain_record(
                        tokens, line[0] in " \t", origin, origin_wire, path, number
                    ):
                        continue
                except FieldError as error:
                    report.error(ZoneError(path, number, str(error)))
                    continue
            try:
                entry = lexer.feed(number, line)
            except ZoneError as error:  # a lexical error: the entry is dropped
                report.error(error)
                lexer = Lexer(path)
                continue
            if entry is None:
                continue
            try:
                first = entry.tokens[0]
                if entry.owner_omitted or first[0] != "$":
                    self.record(entry, origin, path)
                    continue
                keyword = first.upper()
                if keyword == "$ORIGIN":
                    (name,) = _arguments(entry, 1, 1)
                    origin = parse_name(name, origin)  # RFC 1035 §5.1: relative to the current
                    origin_wire = name_wire(origin)
                elif keyword == "$TTL":
                    (ttl,) = _arguments(entry, 1, 1)
                    self.default_ttl = parse_ttl(ttl)  # RFC 2308 §4
                elif keyword == "$INCLUDE":
                    self.include(entry, path, origin, stack)
                elif keyword == "$GENERATE":
                    self.generate(entry, origin, path)
                else:
                    raise FieldError(f"unknown directive {entry.tokens[0]}")
            except FieldError as error:
                report.error(ZoneError(path, entry.line, str(error)))
        try:
            lexer.close()
        except ZoneError as error:
            report.error(error)

    def include(self, entry: Entry, path: str, origin: DNSLabel, stack: list[str]) -> None:
        """RFC 1035 §5.1 ``$INCLUDE <file> [<origin>]``; the origin here is not changed."""
        arguments = _arguments(entry, 1, 2)
        included = os.path.join(os.path.dirname(path), arguments[0])
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise FieldError(f"$INCLUDE nested deeper than {MAX_INCLUDE_DEPTH} files")
        if os.path.abspath(included) in stack:
            raise FieldError(f"$INCLUDE loop: {arguments[0]} is already being read")
        include_origin = parse_name(arguments[1], origin) if len(arguments) > 1 else origin
        lines, size = open_zone_file(included, f"cannot $INCLUDE {arguments[0]}")
        with lines:
            self.octets += size
            if self.octets > MAX_FILE_OCTETS:
                raise FieldError(f"the zone's files together are over {MAX_FILE_OCTETS:,} octets")
            try:
                text = lines.read()
            except OSError as error:
                raise FieldError(f"cannot $INCLUDE {arguments[0]}: {error.strerror}") from None
        stack = [*stack, os.path.abspath(included)]
        self.read(text.split("\n"), included, include_origin, stack)

    def generate(self, entry: Entry, origin: DNSLabel, path: str) -> None:
        """BIND's ``$GENERATE start-stop[/step] lhs [ttl] [class] type rhs``."""
        arguments = _arguments(entry, 4, 6)
        match = _GENERATE_RANGE.fullmatch(arguments[0])
        if not match:
            raise FieldError(f"bad $GENERATE range {arguments[0]!r}")
        start, stop = int(match.group(1)), int(match.group(2))
        step = int(match.group(3) or 1)
        if stop < start or step < 1 or (stop - start) // step > 65535:
            raise FieldError(f"bad $GENERATE range {arguments[0]!r}")
        for value in range(start, stop + 1, step):
            tokens = [_substitute(token, value) for token in arguments[1:]]
            self.record(Entry(entry.line, False, tokens), origin, path)

    def plain_record(
        self,
        tokens: list[str],
        owner_omitted: bool,
        origin: DNSLabel,
        origin_wire: bytes,
        path: str,
        line: int,
    ) -> bool:
        """A record in the plainest form (`minidns.zone.plain`): owner, a TTL in seconds or
        none, IN or no class, a type in capitals, plain rdata. False, with nothing done, for
        any other line (a directive too): `record` reads it."""
        if owner_omitted:
            owner, index = self.last_owner, 0
        elif tokens[0] == self.last_owner_token and origin is self.last_owner_origin:
            owner, index = self.last_owner, 1
        elif tokens[0][0] == "$":
            return False
        else:
            owner, index = plain_name(tokens[0], origin_wire), 1
        if owner is None or len(tokens) < index + 2:
            return False
        token = tokens[index]
        ttl = None
        if token.isdigit():
            if not token.isascii() or int(token) > MAX_TTL:
                return False
            ttl = int(token)
            index += 1
            token = tokens[index]
        if token == "IN" and len(tokens) > index + 2:
            index += 1
            token = tokens[index]
        rtype = PLAIN_TYPES.get(token)
        if rtype is None:
            return False
        rdata_tokens = tokens[index + 1 :]
        rdata = PLAIN_RDATA[rtype](rdata_tokens, origin_wire)
        if rdata is None or len(rdata) > MAX_RDATA_LENGTH:  # `record` says what is wrong
            return False
        if ttl is not None:
            self.last_ttl = ttl
        else:
            ttl = self.default_ttl if self.default_ttl is not None else self.last_ttl
            if ttl is None:
                return False
        try:
            self.builder.add_wire(owner, rtype, ttl, rdata)
        except ValueError as error:  # the owner is outside the zone
            raise FieldError(str(error)) from None
        if rtype in RULED_TYPES:  # plain rdata ends with the target name
            target = rdata_tokens[-1]
            if rtype == QTYPE.CNAME or (target[-1] != "." and "." in target):
                self.rules.record(owner, rtype, rdata_tokens, origin_wire, path, line)
        if not owner_omitted:
            self.last_owner, self.last_owner_token = owner, tokens[0]
            self.last_owner_origin = origin
        return True

    def record(self, entry: Entry, origin: DNSLabel, path: str) -> None:
        """One resource record: ``[owner] [ttl] [class] type rdata`` (RFC 1035 §5.1)."""
        tokens = entry.tokens
        origin_wire = name_wire(origin)
        if entry.owner_omitted:
            if self.last_owner is None:
                raise FieldError("no owner name, and no previous record to take it from")
            owner, index = self.last_owner, 0
        elif (
            tokens[0] == self.last_owner_token
            and origin is self.last_owner_origin
            and self.last_owner is not None
        ):
            owner, index = self.last_owner, 1  # the same owner as the line before
        else:
            plain = plain_name(tokens[0], origin_wire)
            owner = name_wire(parse_name(tokens[0], origin)) if plain is None else plain
            index = 1
            self.last_owner_token, self.last_owner_origin = tokens[0], origin
        ttl: int | None = None
        for _ in range(2):  # TTL and class, in either order
            if index >= len(tokens):
                break
            token = tokens[index]
            if token[:1].isdigit():
                if ttl is not None:
                    raise FieldError(f"two TTLs: {ttl} and {token}")
                ttl = parse_ttl(token)
            elif token == "IN":
                pass
            elif token.upper() in CLASSES or (
                token[:5].upper() == "CLASS" and _GENERIC_CLASS.fullmatch(token)
            ):
                rclass = CLASSES.get(token.upper()) or int(token[5:])
                if rclass != 1:
                    raise FieldError(f"class {token} is not supported: only IN")
            else:
                break
            index += 1
        if index >= len(tokens):
            raise FieldError("record has no type")
        rtype = rrtype_code(tokens[index])
        if rtype in META_TYPES or 128 <= rtype <= 255:
            raise FieldError(f"{tokens[index]} is a meta type, not data (RFC 6895 §3.1)")
        rdata_tokens = tokens[index + 1 :]
        plain_rdata = PLAIN_RDATA.get(rtype)
        rdata = None if plain_rdata is None else plain_rdata(rdata_tokens, origin_wire)
        if rdata is None:
            rdata = rdata_to_wire(parse_rdata(rtype, rdata_tokens, origin))
        check_rdata_length(rtype, len(rdata))
        self.last_owner = owner
        if ttl is not None:
            self.last_ttl = ttl
        elif self.default_ttl is not None:
            ttl = self.default_ttl
        elif self.last_ttl is not None:
            ttl = self.last_ttl
        elif rtype == QTYPE.SOA:
            ttl = self.default_ttl = int.from_bytes(rdata[-4:], "big")  # BIND: SOA MINIMUM
        else:
            raise FieldError("no TTL: give one, or a $TTL before this record (RFC 2308 §4)")
        builder = self.builder
        if rtype == QTYPE.SOA and owner.lower() != builder.origin_key:
            raise FieldError(f"SOA owner {_text(owner)} is not the zone apex {builder.origin}")
        try:
            builder.add_wire(owner, rtype, ttl, rdata)
        except ValueError as error:  # the owner is outside the zone
            raise FieldError(str(error)) from None
        if rtype in RULED_TYPES:
            self.rules.record(owner, rtype, rdata_tokens, origin_wire, path, entry.line)

    def finish(self) -> Zone:
        """RFC 1035 §5.2: exactly one SOA, at the top of the zone; then the zone's rules."""
        builder = self.builder
        soas = builder.count(builder.origin_key, QTYPE.SOA)
        if soas == 0:  # raised even when checking: there is no zone without it
            raise ZoneError(self.path, 0, f"zone {builder.origin} has no SOA record")
        if soas > 1:
            self.report.error(
                ZoneError(self.path, 0, f"zone {builder.origin} has more than one SOA")
            )
        zone = builder.zone()
        for error in self.rules.errors(zone):
            self.report.error(error)
        self.report.warnings += self.rules.warnings(zone)
        return zone


def _arguments(entry: Entry, least: int, most: int) -> list[str]:
    arguments = entry.tokens[1:]
    if not least <= len(arguments) <= most:
        expected = str(least) if least == most else f"{least} to {most}"
        raise FieldError(f"{entry.tokens[0]} takes {expected} arguments")
    return arguments


def _text(wire: bytes) -> str:
    return str(wire_to_label(wire))


def _substitute(token: str, value: int) -> str:
    """$GENERATE's ``$`` and ``${offset,width,base}`` with the iterator value; ``\\$`` is $."""

    def replace(match: re.Match[str]) -> str:
        if match.group() == "\\$":
            return "$"
        offset = int(match.group(1) or 0)
        width = parse_int(match.group(2) or "0", 8, "$GENERATE width")
        number = value + offset
        if number < 0:
            raise FieldError("$GENERATE value below zero")
        return f"{number:0{width}{match.group(3) or 'd'}}"

    return _GENERATE_DOLLAR.sub(replace, token)
