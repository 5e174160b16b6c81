"""Reading a query: labels as octets, the EDNS facts, what cannot be read, the cache key."""

from __future__ import annotations

import pytest
from dnslib import EDNS0, DNSRecord, EDNSOption

from minidns.badinput import BadInput
from minidns.query import MalformedQuery, read_query


def wire(
    labels: list[bytes], qtype: int = 1, flags: bytes = b"\x01\x00", tail: bytes = b""
) -> bytes:
    name = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    arcount = b"\x00\x01" if tail else b"\x00\x00"
    header = b"\x12\x34" + flags + b"\x00\x01\x00\x00\x00\x00" + arcount
    return header + name + qtype.to_bytes(2, "big") + b"\x00\x01" + tail


def opt(payload: int = 1232, flags: int = 0, options: bytes = b"", version: int = 0) -> bytes:
    return (
        b"\x00\x00\x29" + payload.to_bytes(2, "big") + bytes((0, version))
        + flags.to_bytes(2, "big") + len(options).to_bytes(2, "big") + options
    )  # fmt: skip


def test_labels_are_octets_and_the_key_folds_ascii_letters_only():
    query = read_query(wire([b"\x80Ab\xc9", b"Example", b"COM"]))
    assert query is not None
    assert query.name == b"\x04\x80Ab\xc9\x07Example\x03COM\x00"
    assert query.key == b"\x04\x80ab\xc9\x07example\x03com\x00"
    assert query.offsets == [0, 5, 13]
    assert (query.qtype, query.qclass, query.question_count) == (1, 1, 1)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (wire([b"a"])[:-3], BadInput.TRUNCATED),
        (wire([b"a"])[:14], BadInput.TRUNCATED),
        (wire([b"a"])[:12] + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", BadInput.LABEL_TYPE),
        (wire([b"a"])[:12] + b"\x7f\x00\x00\x01\x00\x01", BadInput.LABEL_TYPE),
        (wire([b"a"])[:12] + b"\xc0\x0c\x00\x01\x00\x01", BadInput.BAD_POINTER),
        (wire([b"x" * 63] * 4), BadInput.NAME_TOO_LONG),
        (wire([b"a"], tail=opt()[:-1]), BadInput.TRUNCATED),
        (wire([b"a"], tail=opt(options=b"\x00\x03\x00\x05ab")), BadInput.BAD_OPT),
        (b"", BadInput.SHORT),
        (b"\x00" * 11, BadInput.SHORT),
        (wire([b"a"], flags=b"\x81\x00"), BadInput.RESPONSE),
    ],
)
def test_what_cannot_be_read_is_malformed_by_kind(message: bytes, kind: BadInput):
    with pytest.raises(MalformedQuery) as raised:
        read_query(message)
    assert raised.value.kind is kind


def test_a_name_of_255_octets_reads():
    query = read_query(wire([b"x" * 63] * 3 + [b"y" * 61]))
    assert query is not None and len(query.name) == 255


def test_edns_facts():
    query = read_query(wire([b"a"], tail=opt(4096, 0x8000, b"\x00\x03\x00\x00")))
    assert query is not None and query.edns is not None
    assert (query.edns.payload, query.edns.dnssec_ok, query.edns.nsid) == (4096, True, True)
    assert query.canonical


def test_two_opt_records_or_an_opt_not_at_the_root_are_malformed_after_the_question():
    record = DNSRecord.question("a.example")
    record.add_ar(EDNS0())
    record.add_ar(EDNS0())
    owned = wire([b"a"], tail=b"\x01x" + opt())  # the owner x.
    for message in (bytes(record.pack()), owned):
        with pytest.raises(MalformedQuery) as raised:
            read_query(message)
        assert raised.value.kind is BadInput.BAD_OPT and raised.value.question


def test_padding_and_unknown_options_stay_out_of_the_cache_key():
    plain = read_query(wire([b"a"], tail=opt()))
    padded = read_query(wire([b"a"], tail=opt(options=b"\x00\x0c\x01\x00" + b"\x00" * 256)))
    cookie = read_query(wire([b"a"], tail=opt(options=b"\x00\x0a\x00\x08" + b"c" * 8)))
    assert plain is not None and padded is not None and cookie is not None
    assert plain.cache_key == padded.cache_key == cookie.cache_key
    assert plain.canonical and not padded.canonical and not cookie.canonical
    assert plain.cache_key is not None and len(plain.cache_key) < 20


def test_what_changes_the_answer_is_in_the_cache_key():
    keys = {
        read_query(message).cache_key  # type: ignore[union-attr]
        for message in (
            wire([b"a"]),
            wire([b"b"]),
            wire([b"a"], qtype=28),
            wire([b"a"], flags=b"\x00\x00"),  # RD
            wire([b"a"], tail=opt()),
            wire([b"a"], tail=opt(512)),
            wire([b"a"], tail=opt(flags=0x8000)),
            wire([b"a"], tail=opt(options=b"\x00\x03\x00\x00")),
        )
    }
    assert len(keys) == 8
    assert read_query(wire([b"A"])).cache_key == read_query(wire([b"a"])).cache_key  # type: ignore[union-attr]


def test_records_in_other_sections_are_walked_and_the_opt_found():
    record = DNSRecord.question("a.example", "SOA")
    record.header.opcode = 4  # NOTIFY carries the SOA in the answer section
    record.add_answer(*DNSRecord.question("a.example").rr)
    record.add_ar(EDNS0(udp_len=1400, opts=[EDNSOption(3, b"")]))
    query = read_query(bytes(record.pack()))
    assert query is not None and query.edns is not None and query.edns.payload == 1400
    assert query.cache_key is None  # not a plain query
