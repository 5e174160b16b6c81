"""DNSSEC and zone integrity: DS, DNSKEY, RRSIG, NSEC (RFC 4034), NSEC3 and NSEC3PARAM
(RFC 5155), CDS and CDNSKEY (RFC 7344), CSYNC (RFC 7477), ZONEMD (RFC 8976), and their
predecessors KEY, SIG, TA and DLV."""

from __future__ import annotations

import base64
import binascii
import calendar
import struct
import time

import dnslib
from dnslib import RD

from ..errors import FieldError
from ..text import name_to_wire, parse_int
from .fields import Fields, counted, parser

# DNS Security Algorithm Numbers (IANA), by mnemonic.
ALGORITHMS = {
    "RSAMD5": 1, "DH": 2, "DSA": 3, "RSASHA1": 5, "DSA-NSEC3-SHA1": 6, "RSASHA1-NSEC3-SHA1": 7,
    "RSASHA256": 8, "RSASHA512": 10, "ECC-GOST": 12, "ECDSAP256SHA256": 13,
    "ECDSAP384SHA384": 14, "ED25519": 15, "ED448": 16, "INDIRECT": 252, "PRIVATEDNS": 253,
    "PRIVATEOID": 254,
}  # fmt: skip


@parser("DS", "CDS", "TA", "DLV")
def _ds(fields: Fields) -> RD:
    key_tag = fields.u16("key tag")
    algorithm = fields.mnemonic(ALGORITHMS, 8, "algorithm")
    digest_type = fields.u8("digest type")
    digest = fields.hex("digest")
    return dnslib.DS(key_tag, algorithm, digest_type, digest)


@parser("DNSKEY", "CDNSKEY", "KEY")
def _dnskey(fields: Fields) -> RD:
    flags = fields.u16("flags")
    protocol = fields.u8("protocol")
    algorithm = fields.mnemonic(ALGORITHMS, 8, "algorithm")
    key = fields.base64("public key")
    return dnslib.DNSKEY(flags, protocol, algorithm, key)


@parser("RRSIG", "SIG")
def _rrsig(fields: Fields) -> RD:
    covered = fields.rrtype("type covered")
    algorithm = fields.mnemonic(ALGORITHMS, 8, "algorithm")
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


@parser("NSEC")
def _nsec(fields: Fields) -> RD:
    next_name = name_to_wire(fields.name("next domain name"))
    return fields.opaque(next_name + fields.type_bitmap())


@parser("NSEC3")
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
    return fields.opaque(head + salt + counted(next_hashed) + fields.type_bitmap())


@parser("NSEC3PARAM")
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
    return counted(salt)


@parser("CSYNC")
def _csync(fields: Fields) -> RD:
    head = struct.pack("!IH", fields.u32("SOA serial"), fields.u16("flags"))
    return fields.opaque(head + fields.type_bitmap())


@parser("ZONEMD")
def _zonemd(fields: Fields) -> RD:
    serial = fields.u32("serial")
    head = struct.pack("!IBB", serial, fields.u8("scheme"), fields.u8("hash algorithm"))
    return fields.opaque(head + fields.hex("digest"))
