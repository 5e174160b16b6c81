"""Record data from presentation format to dnslib RD objects, one small parser per type.

dnslib's RD classes are used where their wire encoding is right: A, AAAA, NS, CNAME, PTR, MX,
SOA, SRV, DS, DNSKEY, RRSIG, SSHFP, TLSA. Its TXT, NAPTR and RP encode right but print wrong
(TXT) or compress names that must not be compressed (NAPTR, RP; RFC 3597 §4), and its DNAME
compresses too (RFC 6672 §2.5): the subclasses below fix that. Every other type is an
:class:`OpaqueRD`: the wire rdata, packed here, with its presentation text.

Any type can also be given in RFC 3597 §5's generic form ``\\# <length> <hex>``.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
import struct
import time
from collections.abc import Callable

import dnslib
from dnslib import RD, DNSBuffer, DNSLabel

from .errors import FieldError
from .text import (
    MAX_STRING_LENGTH,
    format_string,
    name_to_wire,
    parse_int,
    parse_long_string,
    parse_name,
    parse_string,
    parse_ttl,
)

# Type codes by mnemonic (IANA "Resource Record (RR) TYPEs"), for the types parsed below and
# for the type bitmaps of NSEC/NSEC3/CSYNC. ALIAS is PowerDNS's private type.
RRTYPES: dict[str, int] = {
    **{str(name): int(code) for code, name in dnslib.QTYPE.forward.items()},
    "MD": 3, "MF": 4, "MB": 7, "MG": 8, "MR": 9, "WKS": 11, "MINFO": 14, "X25": 19, "ISDN": 20,
    "RT": 21, "NSAP-PTR": 23, "PX": 26, "GPOS": 27, "NAPTR": 35, "HIP": 55, "NINFO": 56,
    "RKEY": 57, "TALINK": 58, "SMIMEA": 53, "NID": 104, "L32": 105, "L64": 106, "LP": 107,
    "WALLET": 262, "ALIAS": 65401,
}  # fmt: skip
RRTYPE_NAMES: dict[int, str] = {code: name for name, code in RRTYPES.items()}
RRTYPE_NAMES[55] = "HIP"  # dnslib's table also lists HIP under 53

_GENERIC_TYPE = re.compile(r"TYPE(\d{1,5})", re.IGNORECASE)


def rrtype_code(token: str) -> int:
    """The type code of a mnemonic or of RFC 3597's ``TYPEnnn``."""
    code = RRTYPES.get(token.upper())
    if code is not None:
        return code
    match = _GENERIC_TYPE.fullmatch(token)
    if match and int(match.group(1)) < 65536:
        return int(match.group(1))
    raise FieldError(f"unknown record type {token!r}")


def rrtype_name(code: int) -> str:
    return RRTYPE_NAMES.get(code, f"TYPE{code}")


class OpaqueRD(RD):  # type: ignore[misc]
    """Rdata kept as its wire form (RFC 1035 §3.2.1 RDATA), printed as `text`."""

    attrs = ("data",)

    def __init__(self, data: bytes = b"", text: str | None = None) -> None:
        super().__init__(data)
        self.text = text

    def __repr__(self) -> str:
        return self.text if self.text is not None else str(super().__repr__())


class TXT(dnslib.TXT):  # type: ignore[misc]
    """dnslib's TXT, printed as RFC 1035 §5.1 strings (space-separated, decimal escapes)."""

    def __repr__(self) -> str:
        return " ".join(format_string(item) for item in self.data)

    toZone = __repr__


class NAPTR(dnslib.NAPTR):  # type: ignore[misc]
    """dnslib's NAPTR with the replacement uncompressed (RFC 3403 §4.1) and strings escaped."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.pack("!HH", self.order, self.preference)
        for item in (self.flags, self.service, self.regexp):
            buffer.pack("!B", len(item))
            buffer.append(item)
        buffer.encode_name_nocompress(self.replacement)

    def __repr__(self) -> str:
        strings = " ".join(format_string(s) for s in (self.flags, self.service, self.regexp))
        return f"{self.order} {self.preference} {strings} {self.replacement}"


class RP(dnslib.RP):  # type: ignore[misc]
    """dnslib's RP with its names uncompressed (RFC 3597 §4: RP is not a RFC 1035 type)."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.encode_name_nocompress(self.mbox)
        buffer.encode_name_nocompress(self.txt)


class DNAME(dnslib.DNAME):  # type: ignore[misc]
    """dnslib's DNAME with its target uncompressed (RFC 6672 §2.5); the target is `.label`."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.encode_name_nocompress(self.label)


class Fields:
    """The rdata tokens of one record, read left to right; keeps the presentation text."""

    def __init__(self, rtype: int, tokens: list[str], origin: DNSLabel) -> None:
        self.rtype = rtype
        self.tokens = tokens
        self.origin = origin
        self.position = 0
        self.text: list[object] = []  # the fields read, printed only if an OpaqueRD needs them

    def more(self) -> bool:
        return self.position < len(self.tokens)

    def token(self, what: str) -> str:
        if self.position >= len(self.tokens):
            raise FieldError(f"{rrtype_name(self.rtype)} rdata ends early: missing {what}")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def rest(self, what: str) -> str:
        """All remaining tokens joined (base64 and hex may be split by blanks)."""
        if not self.more():
            raise FieldError(f"{rrtype_name(self.rtype)} rdata ends early: missing {what}")
        joined = "".join(self.tokens[self.position :])
        self.position = len(self.tokens)
        return joined

    def end(self) -> None:
        if self.more():
            extra = " ".join(self.tokens[self.position :])
            raise FieldError(f"{rrtype_name(self.rtype)} rdata has extra fields: {extra!r}")

    def integer(self, bits: int, what: str) -> int:
        value = parse_int(self.token(what), bits, what)
        self.text.append(value)
        return value

    def u8(self, what: str) -> int:
        return self.integer(8, what)

    def u16(self, what: str) -> int:
        return self.integer(16, what)

    def u32(self, what: str) -> int:
        return self.integer(32, what)

    def period(self, what: str) -> int:
        """A 32-bit time interval, in seconds or with TTL units (SOA refresh etc.)."""
        value = parse_ttl(self.token(what))
        self.text.append(str(value))
        return value

    def mnemonic(self, table: dict[str, int], bits: int, what: str) -> int:
        token = self.token(what)
        value = table.get(token.upper())
        if value is None:
            value = parse_int(token, bits, what)
        self.text.append(str(value))
        return value

    def rrtype(self, what: str) -> int:
        code = rrtype_code(self.token(what))
        self.text.append(rrtype_name(code))
        return code

    def name(self, what: str = "domain name") -> DNSLabel:
        name = parse_name(self.token(what), self.origin)
        self.text.append(name)
        return name

    def string(self, what: str = "character-string") -> bytes:
        data = parse_string(self.token(what))
        self.text.append(format_string(data))
        return data

    def base64(self, what: str) -> bytes:
        encoded = self.rest(what)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise FieldError(f"bad base64 in {what}: {error}") from None
        self.text.append(encoded)
        return data

    def hex(self, what: str) -> bytes:
        return self.hex_token(self.rest(what), what)

    def hex_token(self, encoded: str, what: str) -> bytes:
        if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", encoded):
            raise FieldError(f"bad hex in {what}: {encoded!r}")
        self.text.append(encoded.upper() or "-")
        return bytes.fromhex(encoded)

    def type_bitmap(self) -> bytes:
        """The remaining type mnemonics as RFC 4034 §4.1.2 window blocks."""
        types: set[int] = set()
        while self.more():
            types.add(self.rrtype("type in bitmap"))
        return encode_type_bitmap(types)

    def opaque(self, data: bytes) -> OpaqueRD:
        self.end()
        return OpaqueRD(data, " ".join(map(str, self.text)))


class _UncompressedBuffer(DNSBuffer):  # type: ignore[misc]
    """A DNSBuffer that writes every name in full."""

    def encode_name(self, name: DNSLabel) -> None:
        self.encode_name_nocompress(name)


def rdata_to_wire(rd: RD) -> bytes:
    """The uncompressed wire form of one rdata (as in a master file's \\# form, RFC 3597 §5)."""
    buffer = _UncompressedBuffer()
    rd.pack(buffer)
    return bytes(buffer.data)


def encode_type_bitmap(types: set[int]) -> bytes:
    """RFC 4034 §4.1.2: per 256-type window, the window number, a length and the bit map."""
    out = bytearray()
    for window in sorted({code >> 8 for code in types}):
        bits = bytearray(32)
        for code in types:
            if code >> 8 == window:
                bits[(code & 0xFF) >> 3] |= 0x80 >> (code & 7)
        length = max(i for i, octet in enumerate(bits) if octet) + 1
        out += bytes((window, length)) + bits[:length]
    return bytes(out)


RdataParser = Callable[[Fields], RD]
PARSERS: dict[int, RdataParser] = {}


def _parser(*names: str) -> Callable[[RdataParser], RdataParser]:
    def register(function: RdataParser) -> RdataParser:
        for name in names:
            PARSERS[RRTYPES[name]] = function
        return function

    return register


def parse_rdata(rtype: int, tokens: list[str], origin: DNSLabel) -> RD:
    """The RD for one record's rdata tokens; raises FieldError when they are not valid."""
    if tokens and tokens[0] == "\\#":
        return _generic(rtype, tokens)
    parser = PARSERS.get(rtype)
    if parser is None:
        raise FieldError(f"{rrtype_name(rtype)} rdata must be in the RFC 3597 form \\# LEN HEX")
    return parser(Fields(rtype, tokens, origin))


# Classes that decode the wire form given with \# (RFC 3597 §5) into dnslib's typed RD.
_WIRE_CLASSES: dict[int, type[RD]] = {
    RRTYPES["A"]: dnslib.A,
    RRTYPES["AAAA"]: dnslib.AAAA,
    RRTYPES["NS"]: dnslib.NS,
    RRTYPES["CNAME"]: dnslib.CNAME,
    RRTYPES["PTR"]: dnslib.PTR,
    RRTYPES["MX"]: dnslib.MX,
    RRTYPES["SOA"]: dnslib.SOA,
    RRTYPES["SRV"]: dnslib.SRV,
    RRTYPES["TXT"]: TXT,
    RRTYPES["SPF"]: TXT,
    RRTYPES["NAPTR"]: NAPTR,
    RRTYPES["RP"]: RP,
    RRTYPES["DNAME"]: DNAME,
}


def _generic(rtype: int, tokens: list[str]) -> RD:
    """RFC 3597 §5: ``\\# <rdata length> <hex>``; known types are decoded into their class."""
    if len(tokens) < 2:
        raise FieldError("\\# needs the rdata length")
    length = parse_int(tokens[1], 16, "rdata length")
    encoded = "".join(tokens[2:])
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", encoded):
        raise FieldError(f"bad hex in generic rdata: {encoded!r}")
    data = bytes.fromhex(encoded)
    if len(data) != length:
        raise FieldError(f"\\# says {length} octets but the hex holds {len(data)}")
    cls = _WIRE_CLASSES.get(rtype)
    if cls is None:
        return OpaqueRD(data)
    buffer = _GenericRdataBuffer(data)
    try:
        rd = cls.parse(buffer, length)
    except (dnslib.DNSError, dnslib.BufferError, ValueError, IndexError, struct.error) as error:
        raise FieldError(f"\\# data is not valid {rrtype_name(rtype)} rdata: {error}") from None
    if buffer.offset != length:
        raise FieldError(f"\\# data is not valid {rrtype_name(rtype)} rdata")
    return rd


class _GenericRdataBuffer(DNSBuffer):  # type: ignore[misc]
    """Rdata written out in a master file: its names cannot be compressed (RFC 3597 §5)."""

    def decode_name(self, last: int = -1) -> DNSLabel:
        labels: list[bytes] = []
        while (length := self.unpack("!B")[0]) != 0:
            if length > 63:
                raise FieldError("\\# rdata holds a compressed name")
            labels.append(bytes(self.get(length)))
        return DNSLabel(labels)


# RFC 1035 §3.3, §3.4 ------------------------------------------------------------------------


@_parser("A")
def _a(fields: Fields) -> RD:
    token = fields.token("IPv4 address")
    fields.end()
    try:
        return dnslib.A(tuple(ipaddress.IPv4Address(token).packed))
    except ValueError:
        raise FieldError(f"bad IPv4 address {token!r}") from None


@_parser("NS", "CNAME", "PTR")
def _single_name(fields: Fields) -> RD:
    name = fields.name()
    fields.end()
    cls = {RRTYPES["NS"]: dnslib.NS, RRTYPES["CNAME"]: dnslib.CNAME}.get(fields.rtype, dnslib.PTR)
    return cls(name)


@_parser("MD", "MF", "MB", "MG", "MR", "ALIAS")
def _opaque_name(fields: Fields) -> RD:
    return fields.opaque(name_to_wire(fields.name()))


@_parser("DNAME")
def _dname(fields: Fields) -> RD:
    name = fields.name("target")
    fields.end()
    return DNAME(name)


@_parser("SOA")
def _soa(fields: Fields) -> RD:
    mname = fields.name("MNAME")
    rname = fields.name("RNAME")
    serial = fields.u32("SERIAL")
    times = [fields.period(what) for what in ("REFRESH", "RETRY", "EXPIRE", "MINIMUM")]
    fields.end()
    return dnslib.SOA(mname, rname, (serial, *times))


@_parser("MX")
def _mx(fields: Fields) -> RD:
    preference = fields.u16("preference")
    exchange = fields.name("exchange")
    fields.end()
    return dnslib.MX(exchange, preference)


@_parser("TXT", "SPF", "WALLET")
def _txt(fields: Fields) -> RD:
    """One or more strings; a string longer than 255 octets is cut into 255-octet pieces."""
    if not fields.more():
        raise FieldError(f"{rrtype_name(fields.rtype)} needs at least one string")
    pieces: list[bytes] = []
    for token in fields.tokens:
        data = parse_long_string(token)
        pieces += [data[i : i + MAX_STRING_LENGTH] for i in range(0, len(data), MAX_STRING_LENGTH)]
        if not data:
            pieces.append(b"")
    return TXT(pieces)


@_parser("HINFO")
def _hinfo(fields: Fields) -> RD:
    return fields.opaque(_counted(fields.string("CPU")) + _counted(fields.string("OS")))


@_parser("MINFO")
def _minfo(fields: Fields) -> RD:
    return fields.opaque(
        name_to_wire(fields.name("RMAILBX")) + name_to_wire(fields.name("EMAILBX"))
    )


def _counted(data: bytes) -> bytes:
    """A <character-string> on the wire: a length octet, then the octets."""
    return bytes((len(data),)) + data


# RFC 1183, RFC 1876, RFC 2163, RFC 2230, RFC 2782, RFC 3403 --------------------------------


@_parser("RP")
def _rp(fields: Fields) -> RD:
    mbox = fields.name("mailbox")
    txt = fields.name("TXT name")
    fields.end()
    return RP(mbox, txt)


@_parser("AFSDB", "RT", "KX")
def _preference_and_name(fields: Fields) -> RD:
    number = fields.u16("preference")
    return fields.opaque(struct.pack("!H", number) + name_to_wire(fields.name()))


@_parser("X25")
def _x25(fields: Fields) -> RD:
    return fields.opaque(_counted(fields.string("PSDN address")))


@_parser("ISDN")
def _isdn(fields: Fields) -> RD:
    data = _counted(fields.string("ISDN address"))
    if fields.more():
        data += _counted(fields.string("subaddress"))
    return fields.opaque(data)


@_parser("SRV")
def _srv(fields: Fields) -> RD:
    priority = fields.u16("priority")
    weight = fields.u16("weight")
    port = fields.u16("port")
    target = fields.name("target")
    fields.end()
    return dnslib.SRV(priority, weight, port, target)


@_parser("NAPTR")
def _naptr(fields: Fields) -> RD:
    order = fields.u16("order")
    preference = fields.u16("preference")
    flags = fields.string("flags")
    service = fields.string("services")
    regexp = fields.string("regexp")
    replacement = fields.name("replacement")
    fields.end()
    return NAPTR(order, preference, flags, service, regexp, replacement)


@_parser("AAAA")
def _aaaa(fields: Fields) -> RD:
    token = fields.token("IPv6 address")
    fields.end()
    try:
        return dnslib.AAAA(tuple(ipaddress.IPv6Address(token).packed))
    except ValueError:
        raise FieldError(f"bad IPv6 address {token!r}") from None


@_parser("LOC")
def _loc(fields: Fields) -> RD:
    """RFC 1876 §3: ``d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]``."""
    latitude = _loc_angle(fields, "NS", 90)
    longitude = _loc_angle(fields, "EW", 180)
    altitude = _loc_meters(fields.token("altitude"), -100000.0, 42849672.95)
    precisions = [1.0, 10000.0, 10.0]  # RFC 1876 §3 defaults: size 1m, hp 10km, vp 10m
    for index in range(3):
        if fields.more():
            precisions[index] = _loc_meters(fields.token("precision"), 0.0, 90000000.0)
    fields.end()
    data = struct.pack(
        "!BBBBIII",
        0,
        *(_loc_precision(value) for value in precisions),
        latitude,
        longitude,
        round(altitude * 100) + 10000000,
    )
    return OpaqueRD(data, " ".join(fields.tokens))


def _loc_angle(fields: Fields, hemispheres: str, max_degrees: int) -> int:
    """An angle as RFC 1876 §2 stores it: thousandths of a second, offset by 2^31."""
    parts: list[str] = []
    while True:
        token = fields.token("hemisphere " + "/".join(hemispheres))
        if token.upper() in hemispheres:
            break
        parts.append(token)
    if not 1 <= len(parts) <= 3:
        raise FieldError(f"LOC needs degrees [minutes [seconds]] before {token}")
    degrees = parse_int(parts[0], 8, "degrees")
    minutes = parse_int(parts[1], 8, "minutes") if len(parts) > 1 else 0
    seconds = _loc_decimal(parts[2], "seconds") if len(parts) > 2 else 0.0
    if degrees > max_degrees or minutes > 59 or not 0 <= seconds < 60:
        raise FieldError(f"LOC angle out of range: {' '.join(parts)}")
    thousandths = (degrees * 3600 + minutes * 60) * 1000 + round(seconds * 1000)
    if thousandths > max_degrees * 3600 * 1000:
        raise FieldError(f"LOC angle out of range: {' '.join(parts)}")
    return 2**31 + thousandths if token.upper() in "NE" else 2**31 - thousandths


def _loc_decimal(token: str, what: str) -> float:
    if not re.fullmatch(r"-?\d+(?:\.\d*)?", token):
        raise FieldError(f"LOC {what}: bad number {token!r}")
    return float(token)


def _loc_meters(token: str, low: float, high: float) -> float:
    value = _loc_decimal(token[:-1] if token[-1:] in "mM" else token, "meters")
    if not low <= value <= high:
        raise FieldError(f"LOC value {token} out of range")
    return value


def _loc_precision(meters: float) -> int:
    """RFC 1876 §2: a size in centimetres as a base and a power of ten, four bits each."""
    centimetres = round(meters * 100)
    exponent = 0
    while centimetres >= 10 and exponent < 9:
        centimetres //= 10
        exponent += 1
    return (min(centimetres, 9) << 4) | exponent


# DNSSEC: RFC 4034, RFC 5155, RFC 7344, RFC 4398 ---------------------------------------------

_ALGORITHMS = {
    "RSAMD5": 1, "DH": 2, "DSA": 3, "RSASHA1": 5, "DSA-NSEC3-SHA1": 6, "RSASHA1-NSEC3-SHA1": 7,
    "RSASHA256": 8, "RSASHA512": 10, "ECC-GOST": 12, "ECDSAP256SHA256": 13,
    "ECDSAP384SHA384": 14, "ED25519": 15, "ED448": 16, "INDIRECT": 252, "PRIVATEDNS": 253,
    "PRIVATEOID": 254,
}  # fmt: skip
_CERT_TYPES = {
    "PKIX": 1, "SPKI": 2, "PGP": 3, "IPKIX": 4, "ISPKI": 5, "IPGP": 6, "ACPKIX": 7,
    "IACPKIX": 8, "URI": 253, "OID": 254,
}  # fmt: skip


@_parser("DS", "CDS", "TA", "DLV")
def _ds(fields: Fields) -> RD:
    key_tag = fields.u16("key tag")
    algorithm = fields.mnemonic(_ALGORITHMS, 8, "algorithm")
    digest_type = fields.u8("digest type")
    digest = fields.hex("digest")
    return dnslib.DS(key_tag, algorithm, digest_type, digest)


@_parser("DNSKEY", "CDNSKEY", "KEY")
def _dnskey(fields: Fields) -> RD:
    flags = fields.u16("flags")
    protocol = fields.u8("protocol")
    algorithm = fields.mnemonic(_ALGORITHMS, 8, "algorithm")
    key = fields.base64("public key")
    return dnslib.DNSKEY(flags, protocol, algorithm, key)


@_parser("RRSIG", "SIG")
def _rrsig(fields: Fields) -> RD:
    covered = fields.rrtype("type covered")
    algorithm = fields.mnemonic(_ALGORITHMS, 8, "algorithm")
    labels = fields.u8("labels")
    original_ttl = fields.u32("original TTL")
    expiration = _signature_time(fields.token("signature expiration"))
    inception = _signature_time(fields.token("signature inception"))
    key_tag = fields.u16("key tag")
    signer = fields.name("signer's name")
    signature = fields.base64("signature")
    return dnslib.RRSIG(
        covered, algorithm, labels, original_ttl, expiration, inception, key_tag, signer, signature
    )


def _signature_time(token: str) -> int:
    """RFC 4034 §3.2: YYYYMMDDHHmmSS in UTC, or seconds since 1970 as a decimal number."""
    if len(token) == 14 and token.isdigit():
        try:
            return calendar.timegm(time.strptime(token, "%Y%m%d%H%M%S")) % 2**32
        except ValueError:
            raise FieldError(f"bad signature time {token!r}") from None
    return parse_int(token, 32, "signature time")


@_parser("NSEC")
def _nsec(fields: Fields) -> RD:
    next_name = name_to_wire(fields.name("next domain name"))
    return fields.opaque(next_name + fields.type_bitmap())


@_parser("NSEC3")
def _nsec3(fields: Fields) -> RD:
    head = struct.pack("!BBH", fields.u8("hash"), fields.u8("flags"), fields.u16("iterations"))
    salt = _salt(fields)
    token = fields.token("next hashed owner name")
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        next_hashed = base64.b32hexdecode(padded)
    except (binascii.Error, ValueError):
        raise FieldError(f"bad base32hex next hashed owner {token!r}") from None
    fields.text.append(token.lower())
    return fields.opaque(head + salt + _counted(next_hashed) + fields.type_bitmap())


@_parser("NSEC3PARAM")
def _nsec3param(fields: Fields) -> RD:
    head = struct.pack("!BBH", fields.u8("hash"), fields.u8("flags"), fields.u16("iterations"))
    return fields.opaque(head + _salt(fields))


def _salt(fields: Fields) -> bytes:
    """RFC 5155 §3.3: the salt in hex, or ``-`` for none; on the wire after its length."""
    token = fields.token("salt")
    if token == "-":
        fields.text.append("-")
        return b"\x00"
    salt = fields.hex_token(token, "salt")
    if not salt or len(salt) > 255:
        raise FieldError("salt must be 1-255 octets, or -")
    return _counted(salt)


@_parser("CERT")
def _cert(fields: Fields) -> RD:
    cert_type = fields.mnemonic(_CERT_TYPES, 16, "certificate type")
    key_tag = fields.u16("key tag")
    algorithm = fields.mnemonic(_ALGORITHMS, 8, "algorithm")
    data = fields.base64("certificate")
    return fields.opaque(struct.pack("!HHB", cert_type, key_tag, algorithm) + data)


@_parser("SSHFP")
def _sshfp(fields: Fields) -> RD:
    algorithm = fields.u8("algorithm")
    fp_type = fields.u8("fingerprint type")
    return dnslib.SSHFP(algorithm, fp_type, fields.hex("fingerprint"))


@_parser("TLSA", "SMIMEA")
def _tlsa(fields: Fields) -> RD:
    usage = fields.u8("certificate usage")
    selector = fields.u8("selector")
    matching = fields.u8("matching type")
    return dnslib.TLSA(usage, selector, matching, fields.hex("certificate association data"))


@_parser("OPENPGPKEY", "DHCID")
def _base64_only(fields: Fields) -> RD:
    return fields.opaque(fields.base64("data"))


@_parser("CSYNC")
def _csync(fields: Fields) -> RD:
    head = struct.pack("!IH", fields.u32("SOA serial"), fields.u16("flags"))
    return fields.opaque(head + fields.type_bitmap())


@_parser("ZONEMD")
def _zonemd(fields: Fields) -> RD:
    serial = fields.u32("serial")
    head = struct.pack("!IBB", serial, fields.u8("scheme"), fields.u8("hash algorithm"))
    return fields.opaque(head + fields.hex("digest"))


@_parser("EUI48", "EUI64")
def _eui(fields: Fields) -> RD:
    """RFC 7043 §3.2/§4.2: hex octets separated by hyphens."""
    octets = 6 if fields.rtype == RRTYPES["EUI48"] else 8
    token = fields.token("address")
    if (
        not re.fullmatch(r"[0-9a-fA-F]{2}(?:-[0-9a-fA-F]{2})*", token)
        or len(token) != octets * 3 - 1
    ):
        raise FieldError(f"bad {rrtype_name(fields.rtype)} address {token!r}")
    fields.text.append(token.lower())
    return fields.opaque(bytes.fromhex(token.replace("-", "")))


@_parser("URI")
def _uri(fields: Fields) -> RD:
    """RFC 7553 §4.4: priority, weight, and the target as one string, not length-prefixed."""
    head = struct.pack("!HH", fields.u16("priority"), fields.u16("weight"))
    target = parse_long_string(fields.token("target"))
    if not target:
        raise FieldError("URI target is empty")
    fields.text.append(format_string(target))
    return fields.opaque(head + target)


@_parser("CAA")
def _caa(fields: Fields) -> RD:
    """RFC 8659 §4.1.1: flags, an alphanumeric tag and the value, which is not length-prefixed."""
    flags = fields.u8("flags")
    tag = fields.token("tag")
    if not re.fullmatch(r"[A-Za-z0-9]{1,255}", tag):
        raise FieldError(f"CAA tag must be letters and digits, got {tag!r}")
    value = parse_long_string(fields.token("value"))
    fields.text += [tag, format_string(value)]
    return fields.opaque(bytes((flags, len(tag))) + tag.encode() + value)


# RFC 9460 SVCB and HTTPS --------------------------------------------------------------------

_SVC_KEYS = {
    "mandatory": 0, "alpn": 1, "no-default-alpn": 2, "port": 3, "ipv4hint": 4, "ech": 5,
    "ipv6hint": 6, "dohpath": 7, "ohttp": 8, "tls-supported-groups": 9,
}  # fmt: skip
_SVC_KEY_NUMBER = re.compile(r"key(\d{1,5})")


@_parser("SVCB", "HTTPS")
def _svcb(fields: Fields) -> RD:
    """RFC 9460 §2.2: priority, target, then SvcParams sorted by key."""
    priority = fields.u16("SvcPriority")
    target = fields.name("TargetName")
    params: dict[int, bytes] = {}
    while fields.more():
        token = fields.token("SvcParam")
        key_text, has_value, value_text = token.partition("=")
        key = _svc_key(key_text)
        if key in params:
            raise FieldError(f"SvcParam {key_text} given twice (RFC 9460 §2.2)")
        params[key] = _svc_value(key, value_text if has_value else None)
        fields.text.append(token)
    wire = struct.pack("!H", priority) + name_to_wire(target)
    for key in sorted(params):
        wire += struct.pack("!HH", key, len(params[key])) + params[key]
    return OpaqueRD(wire, " ".join(map(str, fields.text)))


def _svc_key(text: str) -> int:
    key = _SVC_KEYS.get(text.lower())
    if key is not None:
        return key
    match = _SVC_KEY_NUMBER.fullmatch(text)
    if match and int(match.group(1)) < 65535:
        return int(match.group(1))
    raise FieldError(f"unknown SvcParamKey {text!r}")


def _svc_value(key: int, text: str | None) -> bytes:
    """One SvcParamValue's wire form (RFC 9460 §7, RFC 9461 §5, RFC 9540 §4)."""
    raw = b"" if text is None else parse_long_string(text)
    if key in (2, 8):  # no-default-alpn, ohttp: no value
        if raw:
            raise FieldError("this SvcParam takes no value")
        return b""
    if text is None:
        if key >= 10 or key == 7:
            return b""
        raise FieldError(f"SvcParam key{key} needs a value")
    items = [item.decode("ascii", "replace") for item in _svc_list(raw)]
    if key == 0:  # mandatory: sorted keys
        return b"".join(struct.pack("!H", k) for k in sorted({_svc_key(item) for item in items}))
    if key == 1:  # alpn: the ids are octets, not ASCII
        ids = _svc_list(raw)
        if any(not alpn_id or len(alpn_id) > 255 for alpn_id in ids):
            raise FieldError("alpn ids must be 1-255 octets")
        return b"".join(_counted(alpn_id) for alpn_id in ids)
    if key in (3, 9):  # port; tls-supported-groups
        numbers = [parse_int(item, 16, "number") for item in items]
        if key == 3 and len(numbers) != 1:
            raise FieldError("port takes one number")
        return b"".join(struct.pack("!H", n) for n in numbers)
    if key in (4, 6):  # ipv4hint, ipv6hint
        family = ipaddress.IPv4Address if key == 4 else ipaddress.IPv6Address
        try:
            return b"".join(family(item).packed for item in items)
        except ValueError:
            raise FieldError(f"bad address list {text!r}") from None
    if key == 5:  # ech
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise FieldError(f"bad base64 in ech {text!r}") from None
    return raw  # dohpath and keyNNNNN: the octets as given


def _svc_list(raw: bytes) -> list[bytes]:
    """RFC 9460 Appendix A.1: a comma-separated list where ``\\,`` is a literal comma."""
    items, current, i = [], bytearray(), 0
    while i < len(raw):
        if raw[i] == 0x5C and i + 1 < len(raw):  # backslash
            current.append(raw[i + 1])
            i += 2
            continue
        if raw[i] == 0x2C:  # comma
            items.append(bytes(current))
            current = bytearray()
        else:
            current.append(raw[i])
        i += 1
    items.append(bytes(current))
    return items


__all__ = [
    "DNAME",
    "NAPTR",
    "PARSERS",
    "RP",
    "RRTYPES",
    "TXT",
    "OpaqueRD",
    "parse_rdata",
    "rdata_to_wire",
    "rrtype_code",
    "rrtype_name",
]
