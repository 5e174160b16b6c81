"""Bad master files and rdata raise ZoneError and nothing else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minidns.zone import ZoneError, parse_master_file
from minidns.zone.errors import FieldError
from minidns.zone.rdata import PARSERS, parse_rdata, rrtype_name
from minidns.zone.text import ROOT

SOA_LINE = "@ 60 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"

# Pieces that make zone-file-like text: directives, types, numbers, names, escapes, specials.
PIECES = [
    "$ORIGIN", "$TTL", "$INCLUDE", "$GENERATE", "@", "IN", "CH", "CLASS1", "TYPE65534",
    *(rrtype_name(code) for code in PARSERS),
    "0", "1", "60", "65535", "4294967296", "1h30m", "1w", "-1", "1-3", "${1,2,x}", "$",
    "a", "b.c", "x.example.com.", ".", "..", "\\.", "\\065", "\\999", "\\", "\\#", "0a000001",
    '"', '"quoted"', '"\\"', "(", ")", ";", "\n", " ", "\t", "=", "alpn=h2", 'port="1"',
    "192.0.2.1", "::1", "AAEC", "-", "N", "E", "1m", "ff-ff", "\x00", "\u00e9",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=30))
def test_any_text_loads_or_raises_zone_error(pieces: list[str]) -> None:
    text = SOA_LINE + " ".join(pieces)
    try:
        parse_master_file(text, "example.com.", "fuzz.zone")
    except ZoneError as error:
        assert str(error).startswith("fuzz.zone:")


@pytest.mark.parametrize("rtype", sorted(PARSERS), ids=rrtype_name)
@settings(max_examples=60, deadline=None)
@given(tokens=st.lists(st.sampled_from(PIECES[20:]) | st.text(min_size=1, max_size=6), max_size=8))
def test_any_rdata_tokens_parse_or_raise_field_error(rtype: int, tokens: list[str]) -> None:
    tokens = [token for token in tokens if token.strip() == token and token]
    with contextlib.suppress(FieldError):
        parse_rdata(rtype, tokens, ROOT)
