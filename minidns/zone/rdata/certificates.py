"""Keys and certificates published in the DNS: CERT (RFC 4398), SSHFP (RFC 4255), TLSA
(RFC 6698), SMIMEA (RFC 8162), OPENPGPKEY (RFC 7929) and DHCID (RFC 4701)."""

from __future__ import annotations

import struct

import dnslib
from dnslib import RD

from .dnssec import ALGORITHMS
from .fields import Fields, parser

# RFC 4398 §2.1 certificate types, by mnemonic.
CERT_TYPES = {
    "PKIX": 1, "SPKI": 2, "PGP": 3, "IPKIX": 4, "ISPKI": 5, "IPGP": 6, "ACPKIX": 7,
    "IACPKIX": 8, "URI": 253, "OID": 254,
}  # fmt: skip


@parser("CERT")
def _cert(fields: Fields) -> RD:
    cert_type = fields.mnemonic(CERT_TYPES, 16, "certificate type")
    key_tag = fields.u16("key tag")
    algorithm = fields.mnemonic(ALGORITHMS, 8, "algorithm")
    data = fields.base64("certificate")
    return fields.opaque(struct.pack("!HHB", cert_type, key_tag, algorithm) + data)


@parser("SSHFP")
def _sshfp(fields: Fields) -> RD:
    algorithm = fields.u8("algorithm")
    fp_type = fields.u8("fingerprint type")
    return dnslib.SSHFP(algorithm, fp_type, fields.hex("fingerprint"))


@parser("TLSA", "SMIMEA")
def _tlsa(fields: Fields) -> RD:
    usage = fields.u8("certificate usage")
    selector = fields.u8("selector")
    matching = fields.u8("matching type")
    return dnslib.TLSA(usage, selector, matching, fields.hex("certificate association data"))


@parser("OPENPGPKEY", "DHCID")
def _base64_only(fields: Fields) -> RD:
    return fields.opaque(fields.base64("data"))
