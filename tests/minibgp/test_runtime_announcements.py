"""Runtime announcements over the control socket: two speakers on loopback, one changing what it
announces while it runs, the other seeing only the difference arrive."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from minibgp.cli import main as cli_main
from minibgp.control import ControlError, announce, request, restore, withdraw
from tests.minibgp.loopback import Duo, advertised, received, until

NEW = "169.254.0.9/32"


def updates_received(duo: Duo) -> int:
    return duo.link(duo.b).peer.connection.messages_received["UPDATE"]


async def test_a_prefix_announced_at_runtime_reaches_the_peer_with_its_attributes(
    duo: Duo,
) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    before = updates_received(duo)
    answer = await asyncio.to_thread(
        announce, duo.tmp / "a.sock", "169.254.0.9/32", as_path_prepend=2, med=50,
        communities=["no-export", "65000:1"], large_communities=["64520:1:2"],
    )  # fmt: skip
    assert answer["source"] == "runtime" and answer["state"] == "announced"
    assert "no local interface" in answer["warning"]
    await until(lambda: "169.254.0.9/32" in received(duo.b))
    route = received(duo.b)["169.254.0.9/32"]
    assert route["as_path"] == [64520, 64520, 64520] and route["med"] == 50
    assert route["communities"] == ["NO_EXPORT", "65000:1"]
    assert route["large_communities"] == ["64520:1:2"]
    assert updates_received(duo) == before + 1  # that route alone


async def test_a_change_of_attributes_sends_only_that_route_again(duo: Duo) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    socket = duo.tmp / "a.sock"
    await asyncio.to_thread(announce, socket, "169.254.0.1/32", as_path_prepend=1)
    await until(lambda: received(duo.b)["169.254.0.1/32"]["as_path"] == [64520, 64520])
    before = updates_received(duo)
    answer = await asyncio.to_thread(announce, socket, "169.254.0.1/32", med=7)
    assert answer["source"] == "config, changed at runtime"
    await until(lambda: received(duo.b)["169.254.0.1/32"]["med"] == 7)
    assert received(duo.b)["169.254.0.1/32"]["as_path"] == [64520, 64520]  # kept
    assert updates_received(duo) == before + 1
    await asyncio.sleep(0.1)
    assert updates_received(duo) == before + 1  # and nothing else
    await asyncio.to_thread(announce, socket, "169.254.0.1/32", med=7)  # no change
    await asyncio.sleep(0.1)
    assert updates_received(duo) == before + 1


async def test_withdraw_and_restore_of_a_configured_prefix_survive_a_reload(duo: Duo) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    socket = duo.tmp / "a.sock"
    answer = await asyncio.to_thread(withdraw, socket, "169.254.0.1/32")
    assert answer["state"] == "withdrawn (restore announces it again)"
    await until(lambda: "169.254.0.1/32" not in received(duo.b))
    duo.a.reload()  # SIGHUP: the runtime change stays
    await asyncio.sleep(0.1)
    assert "169.254.0.1/32" not in advertised(duo.a)
    shown = await asyncio.to_thread(request, socket, "show announcements")
    states = {a["prefix"]: (a["source"], a["state"]) for a in shown["announcements"]}
    assert states["169.254.0.1/32"][0] == "config, withdrawn at runtime"
    assert states["2001:db8:53::1/128"] == ("config", "announced")
    await asyncio.to_thread(restore, socket, "169.254.0.1/32")
    await until(lambda: "169.254.0.1/32" in received(duo.b))


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"prefix": "bogus"}, "announce: 'bogus' is not a prefix"),
        ({"prefix": "169.254.0.1/24"}, "has host bits set"),
        ({"prefix": NEW, "communities": ["65536:1"]}, "'65536:1' is not ASN:VALUE"),
        ({"prefix": NEW, "as_path_prepend": 33}, "as_path_prepend must be an integer 0..32"),
        ({"prefix": NEW, "med": -1}, "med must be an integer 0..4294967295"),
        ({"prefix": NEW, "peers": ["192.0.2.1"]}, "192.0.2.1 is not a configured peer"),
        ({"prefix": NEW, "next_hop": "fd00::1"}, "an IPv4 prefix needs an IPv4 next hop"),
        ({"prefix": NEW, "prepend": 1}, "unknown argument prepend"),
        ({}, "which prefix"),
    ],
)  # fmt: skip
async def test_bad_announcements_are_refused_with_the_reason(
    duo: Duo, arguments: dict[str, object], reason: str
) -> None:
    with pytest.raises(ControlError, match=re.escape(reason)):
        await asyncio.to_thread(request, duo.tmp / "a.sock", "announce", **arguments)
    assert duo.a.announcements.runtime == {}


async def test_the_command_line(duo: Duo, capsys: pytest.CaptureFixture[str]) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    socket = str(duo.tmp / "a.sock")

    def cli(*argv: str) -> int:
        return cli_main([*argv, "--socket", socket])

    assert await asyncio.to_thread(
        cli, "announce", "169.254.0.1/32", "--prepend", "2", "--community", "no-export"
    ) == 0  # fmt: skip
    assert capsys.readouterr().out == (
        "169.254.0.1/32 (config, changed at runtime): announced; prepend 2, communities NO_EXPORT\n"
    )
    await until(lambda: received(duo.b)["169.254.0.1/32"]["communities"] == ["NO_EXPORT"])
    assert await asyncio.to_thread(cli, "announce", "169.254.0.1/32", "--community", "none") == 0
    await until(lambda: received(duo.b)["169.254.0.1/32"]["communities"] == [])
    assert await asyncio.to_thread(cli, "withdraw", "169.254.0.7/32") == 1
    assert "withdraw: 169.254.0.7/32 is not announced" in capsys.readouterr().err
    assert await asyncio.to_thread(cli, "announce", "169.254.0.1/32", "--med", "x") == 1
    assert "--med: 'x' is not a number (or none)" in capsys.readouterr().err
    assert await asyncio.to_thread(cli, "show", "announcements") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [
        "169.254.0.1/32",
        "config,",
        "changed",
        "at",
        "runtime",
        "announced",
    ]
    assert lines[2].split() == ["prepend", "2"]


def test_a_config_without_a_speaker_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["announce", "169.254.0.1/32", "--socket", str(tmp_path / "x.sock")]) == 1
    assert "cannot reach the speaker" in capsys.readouterr().err
