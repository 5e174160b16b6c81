"""The plain-line readers of minidns.zone.plain agree with the general parsers on all they read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidns.zone.errors import FieldError
from minidns.zone.model import name_wire
from minidns.zone.plain import PLAIN_RDATA, plain_name
from minidns.zone.rdata import parse_rdata, rdata_to_wire
from minidns.zone.text import ROOT, parse_name

ORIGIN = parse_name("example.com.", ROOT)
ORIGIN_WIRE = name_wire(ORIGIN)
TOKEN = st.text(alphabet='aZ09-._@*\\"é:x ', min_size=1, max_size=70)


def general_name(token: str) -> bytes | None:
    try:
        return name_wire(parse_name(token, ORIGIN))
    except FieldError:
        return None


def general_rdata(rtype: int, tokens: list[str]) -> bytes | None:
    try:
        return rdata_to_wire(parse_rdata(rtype, tokens, ORIGIN))
    except FieldError:
        return None


@settings(max_examples=2000, deadline=None)
@given(TOKEN)
def test_a_plain_name_is_what_the_general_parser_reads(token: str) -> None:
    plain = plain_name(token, ORIGIN_WIRE)
    if plain is not None:
        assert plain == general_name(token)


@pytest.mark.parametrize(
    "token", ["@", ".", "www", "www.", "a.b.c", "A.B.", "x" * 63, "é", "a..b", "x" * 64, ".."]
)
def test_names(token: str) -> None:
    plain = plain_name(token, ORIGIN_WIRE)
    assert plain is None or plain == general_name(token)
    if general_name(token) is None:
        assert plain is None


RDATA = {
    1: ["192.0.2.1", "01.2.3.4", "1.2.3", "256.0.0.0", "1.2.3.4.5", "::1"],
    28: ["2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "1::2::3", "1.2.3.4"],
    2: ["ns1", "ns1.example.net.", "@", "a..b"],
    5: ["host", "\\046x"],
    12: ["ptr.example."],
    15: ["10 mail", "65535 mail.", "65536 mail", "x mail", "²2 mail"],
    16: ['"v=spf1 -all"', '""', '"a" "b"', "bare", '"' + "x" * 256 + '"', '"é"'],
}


@pytest.mark.parametrize(("rtype", "rdata"), [(t, r) for t, rs in RDATA.items() for r in rs])
def test_rdata(rtype: int, rdata: str) -> None:
    tokens = rdata.split(" ") if not rdata.startswith('"') else rdata.split('" "')
    if rdata.startswith('"') and len(tokens) > 1:
        tokens = [tokens[0] + '"', *('"' + t + '"' for t in tokens[1:-1]), '"' + tokens[-1]]
    plain = PLAIN_RDATA[rtype](tokens, ORIGIN_WIRE)
    assert plain is None or plain == general_rdata(rtype, tokens)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(sorted(PLAIN_RDATA)), st.lists(TOKEN, min_size=1, max_size=3))
def test_any_plain_rdata_is_what_the_general_parser_reads(rtype: int, tokens: list[str]) -> None:
    plain = PLAIN_RDATA[rtype](tokens, ORIGIN_WIRE)
    if plain is not None:
        assert plain == general_rdata(rtype, tokens)
