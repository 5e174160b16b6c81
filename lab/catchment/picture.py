"""`lab catchment --png FILE`: the topology drawn with each client in the colour of its site.

The sites are squares in their own colour; each client is a disc in the colour of the site that
serves it (grey with a red edge when none does; a red cross when the two methods disagree); each
router is tinted with the colour of the site its selected path leads to, so that a site's
catchment shows as a region of the graph. One panel per address family, or one for both when
their catchments are the same. The nodes go where `lab.ui.layout` puts them without roles (each
near its neighbours, as the live page's graph does apart from its rows of servers and clients).
matplotlib's Agg backend: no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..topology import Family, Node, Topology
from ..ui.layout import Point, layout
from .model import Catchment

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#d62728")  # fmt: skip
NONE_COLOUR = "#d9d9d9"
PROBLEM_COLOUR = "#d62728"
EDGE_COLOUR = "#b0b0b0"
LEGEND_WIDTH = 2.6  # inches to the right of a panel


def site_colours(sites: tuple[str, ...]) -> dict[str, str]:
    """A colour per site, in the order the topology lists them (the palette repeats past ten)."""
    return {site: PALETTE[i % len(PALETTE)] for i, site in enumerate(sites)}


def panels(catchment: Catchment) -> list[tuple[Family, ...]]:
    """The families to draw, grouped: those whose catchments are the same share a panel."""
    groups: list[tuple[Family, ...]] = []
    for family in catchment.families:
        for index, group in enumerate(groups):
            if _same(catchment, group[0], family):
                groups[index] = (*group, family)
                break
        else:
            groups.append((family,))
    return groups


def _same(catchment: Catchment, one: Family, other: Family) -> bool:
    def routers(family: Family) -> dict[str, str | None]:
        return {
            router: None if route is None else route.site
            for (router, f), route in catchment.paths.items()
            if f == family
        }

    def verdicts(family: Family) -> dict[str, str]:
        return {e.client: e.verdict for e in catchment.clients if e.family == family}

    return (
        catchment.sites_of(one) == catchment.sites_of(other)
        and routers(one) == routers(other)
        and verdicts(one) == verdicts(other)
    )


def draw_catchment(catchment: Catchment, topology: Topology, path: Path) -> None:
    """Write the catchment picture of `catchment` (measured on `topology`) to `path` as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(topology.nodes)
    edges = [(link.ends[0].node, link.ends[1].node) for link in topology.links]
    roles = {name: node.role for name, node in topology.nodes.items()}
    labels = {name: _label(node) for name, node in topology.nodes.items()}
    places = layout(names, edges)
    groups = panels(catchment)
    size = min(max(5.0, 1.3 * len(names) ** 0.5), 12.0)
    figure, axes = plt.subplots(
        len(groups), 1, figsize=(size + LEGEND_WIDTH, size * len(groups)), squeeze=False
    )
    colours = site_colours(catchment.sites)
    for ax, families in zip(axes[:, 0], groups, strict=True):
        _panel(ax, catchment, families, places, edges, roles, labels, colours)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _panel(
    ax: Any,
    catchment: Catchment,
    families: tuple[Family, ...],
    places: dict[str, Point],
    edges: list[tuple[str, str]],
    roles: Mapping[str, str],
    labels: Mapping[str, str],
    colours: dict[str, str],
) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    family = families[0]
    lines = [(places[a], places[b]) for a, b in edges]
    ax.add_collection(LineCollection(lines, colors=EDGE_COLOUR, linewidths=0.8, zorder=1))
    groups: dict[tuple[str, int, float, int], list[tuple[Point, Any, str]]] = {}
    for name, place in places.items():
        marker, size, face, edge, width, layer = _style(catchment, family, name, roles, colours)
        groups.setdefault((marker, size, width, layer), []).append((place, face, edge))
    for (marker, size, width, layer), members in groups.items():
        xs = [x for (x, _), _, _ in members]
        ys = [y for (_, y), _, _ in members]
        ax.scatter(xs, ys, s=size, marker=marker, c=[face for _, face, _ in members],
                   edgecolors=[edge for _, _, edge in members], linewidths=width,
                   zorder=layer)  # fmt: skip
    crosses = [places[e.client] for e in catchment.problems() if e.family == family]
    if catchment.verfploeter_run and crosses:
        ax.scatter([x for x, _ in crosses], [y for _, y in crosses], s=60, marker="x",
                   c=PROBLEM_COLOUR, linewidths=1.5, zorder=5)  # fmt: skip
    small = len(places) > 25
    for name, (x, y) in places.items():
        ax.annotate(labels[name], (x, y), xytext=(0, 12 if roles[name] == "server" else -11),
                    textcoords="offset points", ha="center", va="center",
                    fontsize=6 if small else 8, zorder=4)  # fmt: skip
    served = catchment.clients_of(family)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, markersize=8,
               label=f"{site}: {len(served.get(site, []))} client(s)")
        for site, colour in colours.items()
    ]  # fmt: skip
    if served.get(None):
        handles.append(Line2D([], [], marker="o", linestyle="", color=NONE_COLOUR,
                              markeredgecolor=PROBLEM_COLOUR, markersize=8,
                              label=f"not served: {len(served[None])}"))  # fmt: skip
    handles += [
        Line2D([], [], marker="s", linestyle="", color="white", markeredgecolor="black",
               markersize=9, label="site (square), client (disc)"),
        Line2D([], [], marker="o", linestyle="", color=NONE_COLOUR, markeredgecolor="#555555",
               markersize=7, label="router, tinted: its path's site"),
    ]  # fmt: skip
    if catchment.verfploeter_run:
        handles.append(Line2D([], [], marker="x", linestyle="", color=PROBLEM_COLOUR,
                              markersize=7, label="methods disagree"))  # fmt: skip
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)  # fmt: skip
    problems = [e for e in catchment.problems() if e.family == family]
    named = " and ".join(f"IPv{f}" for f in families)
    if not catchment.verfploeter_run:
        verdict = "DNS only"
    elif problems:
        verdict = f"methods disagree for {len(problems)}"
    else:
        verdict = "DNS and Verfploeter agree"
    ax.set_title(
        f"{catchment.topology}: {named} catchment, lab {catchment.lab!r} "
        f"({catchment.mode} mode) — {verdict}",
        fontsize=9,
        loc="left",
    )
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(1.05, -0.05)  # y grows downwards, as the layout's does
    ax.set_aspect("equal")
    ax.set_axis_off()


def _label(node: Node) -> str:
    """A node's name; a local site's says so (RFC 4786 §4.4: its route carries NO_EXPORT)."""
    local = node.role == "server" and node.announcement.scope == "local"
    return f"{node.name} (local)" if local else node.name


def _tint(colour: str, strength: float = 0.4) -> tuple[float, float, float]:
    """`colour` mixed with white: a router's pale version of its site's colour."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)
    return (1 - strength * (1 - red), 1 - strength * (1 - green), 1 - strength * (1 - blue))


def _style(
    catchment: Catchment, family: Family, name: str, roles: Mapping[str, str],
    colours: dict[str, str],
) -> tuple[str, int, Any, str, float, int]:  # fmt: skip
    """How a node is drawn: marker, size, face and edge colours, edge width, layer."""
    role = roles[name]
    if role == "server":
        return "s", 260, colours[name], "black", 1.0, 3
    if role == "router":
        path = catchment.paths.get((name, family))
        site = None if path is None else path.site
        tint = _tint(colours[site]) if site in colours else NONE_COLOUR
        return "o", 90, tint, "#555555", 0.6, 2
    try:
        site = catchment.get(name, family).site
    except KeyError:  # not measured over this family
        return "o", 150, "white", EDGE_COLOUR, 1.0, 3
    if site is None:
        return "o", 150, NONE_COLOUR, PROBLEM_COLOUR, 1.0, 3
    return "o", 150, colours.get(site, NONE_COLOUR), "black", 1.0, 3
