"""The catchment picture: one panel for families whose catchments are the same, a PNG file."""

from __future__ import annotations

from pathlib import Path

from lab.catchment.model import SelectedPath
from lab.catchment.picture import draw_catchment, panels, site_colours
from lab.topology import Family, load
from tests.lab.catchment.test_model import C1, C1_6, C2, Paths, catchment, seen

FAMILIES: tuple[Family, ...] = (4, 6)
C2_6 = C2.__class__("client2", 6, "2001:db8:2::10", "2001:db8:2::/64", "router2")


def test_families_with_the_same_catchment_share_a_panel() -> None:
    targets = (C1, C2, C1_6, C2_6)
    paths: Paths = {
        (router, family): SelectedPath(router, asn, "", site, 2)
        for family in FAMILIES
        for router, asn, site in (("router1", "64520", "server1"), ("router2", "64530", "server2"))
    }
    same = {C1: seen("server1"), C2: seen("server2"), C1_6: seen("server1"), C2_6: seen("server2")}
    assert panels(catchment(same, targets=targets, paths=paths)) == [(4, 6)]
    moved = {**same, C1_6: seen("server2")}
    assert panels(catchment(moved, targets=targets, paths=paths)) == [(4,), (6,)]
    paths[("router1", 6)] = SelectedPath("router1", "64530", "", "server2", 2)
    assert panels(catchment(same, targets=targets, paths=paths)) == [(4,), (6,)]


def test_each_site_has_its_own_colour() -> None:
    colours = site_colours(tuple(f"site{i}" for i in range(12)))
    assert len(set(list(colours.values())[:10])) == 10
    assert colours["site10"] == colours["site0"]  # the palette repeats past ten


def test_the_picture_is_a_png(tmp_path: Path) -> None:
    result = catchment({C1: seen("server1"), C2: seen(error="timeout")},
                       {C1: seen("server2"), C2: seen(error="timeout")})  # fmt: skip
    path = tmp_path / "catchment.png"
    draw_catchment(result, load(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
