"""Crafted messages where the RFCs and implementations part ways, as golden bytes.

A peer of AS 64520 at 192.168.57.100 speaks to a router of AS 4290001234 at 192.168.57.10 (the
seed's server1 and router1) over a session where both sides have 4-octet AS numbers and only
IPv4 unicast is negotiated (`OPEN`). The same octets go to minibgp in the unit tests
(tests/minibgp/test_crafted.py, minibgp in the router's place) and to FRR 8.4
(tests/minibgp/interop/test_frr_crafted.py): docs/minibgp.md compares what each does.
"""

from __future__ import annotations

SENDER, SENDER_AS = "192.168.57.100", 64520
RECEIVER, RECEIVER_AS = "192.168.57.10", 4290001234
MARKER = "ffffffffffffffffffffffffffffffff"


def octets(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# -- OPEN: hold time 0, BGP Identifier 192.168.57.100, capabilities IPv4 unicast and 4-octet AS

OPEN = octets(f"{MARKER} 002b 01 04 fc08 0000 c0a83964 0e 02 0c 0104 0001 00 01 4104 0000fc08")
# RFC 7607 §2: My AS 0, with a correct 4-octet AS capability (64520)
OPEN_MY_AS_0 = octets(
    f"{MARKER} 002b 01 04 0000 0000 c0a83964 0e 02 0c 0104 0001 00 01 4104 0000fc08"
)
# RFC 7607 §2: the 4-octet AS capability says AS 0
OPEN_CAPABILITY_AS_0 = octets(
    f"{MARKER} 002b 01 04 fc08 0000 c0a83964 0e 02 0c 0104 0001 00 01 4104 00000000"
)
# RFC 6793 §4.1: My AS 1234 is neither AS_TRANS nor the capability's 64520
OPEN_MY_AS_MISMATCH = octets(
    f"{MARKER} 002b 01 04 04d2 0000 c0a83964 0e 02 0c 0104 0001 00 01 4104 0000fc08"
)
KEEPALIVE = octets(f"{MARKER} 0013 04")

# -- UPDATEs: ORIGIN IGP, AS_PATH, NEXT_HOP 192.168.57.100, NLRI — each its own prefix

# RFC 7607 §2: AS_PATH 64520 0 → treat-as-withdraw (RFC 7606 §7.2)
AS_0_IN_AS_PATH = (
    "10.0.1.0/24",
    octets(
        f"{MARKER} 0033 02 0000 0018 40010100 40020a 0202 0000fc08 00000000 400304 c0a83964 "
        "18 0a0001"
    ),
)
# RFC 7607 §2: AGGREGATOR AS 0, 192.0.2.1 → attribute discard (RFC 7606 §7.7)
AS_0_IN_AGGREGATOR = (
    "10.0.2.0/24",
    octets(
        f"{MARKER} 003a 02 0000 001f 40010100 400206 0201 0000fc08 400304 c0a83964 "
        "c00708 00000000 c0000201 18 0a0002"
    ),
)
# RFC 5065 §5: AS_PATH 64520 (65001) from an external peer → treat-as-withdraw (RFC 7606 §7.2)
CONFED_SEQUENCE = (
    "10.0.3.0/24",
    octets(
        f"{MARKER} 0035 02 0000 001a 40010100 40020c 0201 0000fc08 0301 0000fde9 400304 c0a83964 "
        "18 0a0003"
    ),
)
# RFC 5065 §5: AS_PATH 64520 [65001] from an external peer → treat-as-withdraw
CONFED_SET = (
    "10.0.4.0/24",
    octets(
        f"{MARKER} 0035 02 0000 001a 40010100 40020c 0201 0000fc08 0401 0000fde9 400304 c0a83964 "
        "18 0a0004"
    ),
)
# RFC 4271 §6.3: NEXT_HOP 192.168.57.10, the receiver's own address
NEXT_HOP_IS_RECEIVER = (
    "10.0.5.0/24",
    octets(f"{MARKER} 002f 02 0000 0014 40010100 400206 0201 0000fc08 400304 c0a8390a 18 0a0005"),
)
# RFC 4760 §8: MP_REACH_NLRI for IPv6 unicast (not negotiated), next hop fd00:57::100
IPV6_NOT_NEGOTIATED = (
    "2001:db8:5::/48",
    octets(
        f"{MARKER} 0043 02 0000 002c 40010100 400206 0201 0000fc08 "
        "800e1c 0002 01 10 fd000057000000000000000000000100 00 30 20010db80005"
    ),
)
# a well-formed route, to show the session still takes routes after all the above
WELL_FORMED = (
    "10.0.9.0/24",
    octets(f"{MARKER} 002f 02 0000 0014 40010100 400206 0201 0000fc08 400304 c0a83964 18 0a0009"),
)

UPDATES = {
    "AS 0 in AS_PATH": AS_0_IN_AS_PATH,
    "AS 0 in AGGREGATOR": AS_0_IN_AGGREGATOR,
    "AS_CONFED_SEQUENCE from an external peer": CONFED_SEQUENCE,
    "AS_CONFED_SET from an external peer": CONFED_SET,
    "NEXT_HOP is the receiver's address": NEXT_HOP_IS_RECEIVER,
    "IPv6 unicast not negotiated": IPV6_NOT_NEGOTIATED,
    "well-formed": WELL_FORMED,
}
