"""The TOML config: the smallest form, the extensions, errors naming file and key."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from minibgp.config import (
    AnnounceConfig,
    ConfigError,
    Listen,
    control_socket_path,
    load_config,
    parse_config,
)

MINIMAL_CONFIG = """\
[speaker]
asn = 64520
router_id = "192.168.57.100"

[[peer]]
address = "192.168.57.10"
asn = 4290001234

[[announce]]
prefix = "169.254.0.1/32"
"""

FULL_CONFIG = """\
[speaker]
asn = 64520
control_socket = "/tmp/s1.sock"
listen = "192.168.57.100:1179"
drain_time = 0.5
drain_on_sigterm = true

[[peer]]
address = "192.168.57.10"
asn = 4290001234
local_address = "192.168.57.100"
port = 1790
passive = true
hold_time = 9
connect_retry = 2.5
password = "s3cret"
ttl_security = 1
next_hop = "192.168.57.100"
description = "router1"

[[peer]]
address = "fd00:57::10"
asn = 4290001234

[[announce]]
prefix = "169.254.0.1/32"
next_hop = "192.168.57.100"
communities = ["65000:1", "no-export", "graceful-shutdown"]
large_communities = ["4290001234:1:2"]
med = 50
as_path_prepend = 2
peers = ["192.168.57.10"]

[[announce]]
prefix = "2001:db8::53/128"
"""


def parse(text: str) -> object:
    return parse_config(text, Path("/etc/minibgp/server1.toml"))


def test_the_design_config_is_accepted_unchanged_with_defaults() -> None:
    config = parse_config(MINIMAL_CONFIG, Path("server1.toml"))
    assert config.speaker.asn == 64520
    assert config.speaker.router_id == ipaddress.IPv4Address("192.168.57.100")
    assert config.speaker.listen == Listen("", 179)
    (peer,) = config.peers
    assert (str(peer.address), peer.asn, peer.port, peer.passive) == (
        "192.168.57.10",
        4290001234,
        179,
        False,
    )
    assert peer.hold_time == 90 and peer.password is None and peer.ttl_security is None
    assert config.speaker.drain_time == 2.0 and config.speaker.drain_on_sigterm is False
    (route,) = config.announcements
    assert route == AnnounceConfig(ipaddress.ip_network("169.254.0.1/32"))
    assert control_socket_path(config, config.speaker.router_id) == Path(
        "/run/minibgp/64520-192.168.57.100.sock"
    )


def test_every_extension_is_read() -> None:
    config = parse_config(FULL_CONFIG, Path("server1.toml"))
    assert config.speaker.router_id is None
    assert config.speaker.listen == Listen("192.168.57.100", 1179)
    assert config.speaker.drain_time == 0.5 and config.speaker.drain_on_sigterm is True
    assert control_socket_path(config, ipaddress.IPv4Address("1.2.3.4")) == Path("/tmp/s1.sock")
    peer = config.peers[0]
    assert peer.port == 1790 and peer.passive and peer.hold_time == 9
    assert peer.connect_retry == 2.5 and peer.password == "s3cret" and peer.ttl_security == 1
    assert str(peer.next_hop) == "192.168.57.100" and peer.description == "router1"
    route = config.announcements[0]
    assert route.communities == (65000 << 16 | 1, 0xFFFFFF01, 0xFFFF0000)
    assert route.large_communities == ((4290001234, 1, 2),)
    assert route.med == 50 and route.as_path_prepend == 2
    assert [
        str(a.prefix) for a in config.announcements_for(ipaddress.ip_address("fd00:57::10"))
    ] == ["2001:db8::53/128"]
    assert len(config.announcements_for(ipaddress.ip_address("192.168.57.10"))) == 2


PEER = "asn = 4290001234"
ROUTE = 'prefix = "169.254.0.1/32"'
BAD_CONFIGS = [
    # (text to replace, replacement, what the error must start with after "server1.toml:")
    (PEER, "asn = 4294967296", "7: peer[0].asn: must be 1..4294967295"),
    (PEER, "asn = 0", "7: peer[0].asn: must be 1..4294967295"),
    (
        "asn = 64520",
        'asn = "64520"',
        "2: speaker.asn: must be an integer (1..4294967295), not '64520'",
    ),
    (
        PEER,
        PEER + "\nhold_time = true",
        "8: peer[0].hold_time: must be an integer (0..65535), not True",
    ),
    ("asn = 64520\n", "", "1: speaker.asn: missing"),
    ('"192.168.57.10"', '"192.168.57.300"', "6: peer[0].address: '192.168.57.300' is not an IPv4"),
    (
        '"169.254.0.1/32"',
        '"169.254.0.1/24"',
        "10: announce[0].prefix: '169.254.0.1/24' is not a prefix",
    ),
    ('"192.168.57.100"', '"fd00::1"', "3: speaker.router_id: 'fd00::1' is not an IPv4 address"),
    (PEER, PEER + "\nhold_time = 2", "8: peer[0].hold_time: must be 0 or 3..65535"),
    (PEER, PEER + "\nholdtime = 3", "8: peer[0].holdtime: unknown key"),
    ("[speaker]", "[speaker]\nrouterid = 1", "2: speaker.routerid: unknown key"),
    ("[[announce]]", "[[anounce]]", "9: anounce: unknown key"),
    (
        ROUTE,
        ROUTE + '\ncommunities = ["65536:1"]',
        "11: announce[0].communities[0]: '65536:1' is not",
    ),
    (ROUTE, ROUTE + '\nlarge_communities = ["1:2"]', "11: announce[0].large_communities[0]: '1:2'"),
    (
        ROUTE,
        ROUTE + '\npeers = ["10.0.0.1"]',
        "11: announce[0].peers[0]: 10.0.0.1 is not a configured",
    ),
    (PEER, PEER + f'\npassword = "{"x" * 81}"', "8: peer[0].password: must be 1..80 bytes"),
    (PEER, PEER + "\nttl_security = 255", "8: peer[0].ttl_security: must be 1..254"),
    ("[speaker]", '[speaker]\nlisten = "1.2.3.4:99999"', "2: speaker.listen: port '99999'"),
    ("[speaker]", "[speaker]\nlisten = 179", "2: speaker.listen: must be true, false or a string"),
    ("asn = 64520", "asn = 64520 64521", "2: invalid TOML: "),
    ("[speaker]", "[speaker]\ndrain_time = -1", "2: speaker.drain_time: must be 0..3600 seconds"),
    ("[speaker]", '[speaker]\ndrain_time = "2s"', "2: speaker.drain_time: must be a number"),
    ("[speaker]", "[speaker]\ndrain_on_sigterm = 1", "2: speaker.drain_on_sigterm: must be a"),
    (PEER, PEER + "\ndescription = 7", "8: peer[0].description: must be a string"),
    (PEER, PEER + "\npassive = 1", "8: peer[0].passive: must be a boolean (true or false)"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_CONFIGS)
def test_a_bad_config_is_refused_naming_file_key_and_reason(
    old: str, new: str, message: str
) -> None:
    text = MINIMAL_CONFIG.replace(old, new, 1)
    assert text != MINIMAL_CONFIG
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert str(info.value).startswith(f"/etc/minibgp/server1.toml:{message}")


def test_a_peer_configured_twice_is_refused() -> None:
    text = MINIMAL_CONFIG + '[[peer]]\naddress = "192.168.57.10"\nasn = 1\n'
    with pytest.raises(
        ConfigError, match=r"^/etc/minibgp/server1.toml:12: peer\[1\].address: .* twice"
    ):
        parse(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", None),
        ("true", Listen("", 179)),
        ('"0.0.0.0"', Listen("0.0.0.0", 179)),
        ('":1179"', Listen("", 1179)),
        ('"[::]:1179"', Listen("::", 1179)),
        ('"fd00::1"', Listen("fd00::1", 179)),
    ],
)
def test_listen_forms(value: str, expected: Listen | None) -> None:
    config = parse_config(
        MINIMAL_CONFIG.replace("[speaker]", f"[speaker]\nlisten = {value}"), Path("x")
    )
    assert config.speaker.listen == expected


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("name", ["server1.toml", "server2.toml", "full.toml"])
def test_the_shipped_examples_are_valid(name: str) -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / name)
    assert config.peers and config.announcements


def test_the_config_accepts_every_community_name_the_wire_codec_knows() -> None:
    """One vocabulary: a name is accepted in a config exactly when the codec parses it."""
    from minibgp.wire.attributes.communities import COMMUNITY_NAMES, community_from_text

    names = ", ".join(f'"{name}"' for name in COMMUNITY_NAMES)
    config = parse_config(MINIMAL_CONFIG + f"communities = [{names}]\n", Path("c.toml"))
    assert config.announcements[0].communities == tuple(map(community_from_text, COMMUNITY_NAMES))
    assert {"no-peer", "local-as", "no-export", "graceful-shutdown"} <= set(COMMUNITY_NAMES)


def test_the_back_off_defaults_to_1_s_doubling_up_to_3_s() -> None:
    config = parse_config(MINIMAL_CONFIG, Path("c.toml"))
    settings = config.peers[0].session_settings(64520, ipaddress.IPv4Address("192.168.57.100"))
    assert (settings.connect_retry_time, settings.max_connect_retry_time) == (1.0, 3.0)
    slower = MINIMAL_CONFIG.replace("asn = 4290001234", "asn = 4290001234\nconnect_retry_max = 30")
    assert parse_config(slower, Path("c.toml")).peers[0].connect_retry_max == 30
