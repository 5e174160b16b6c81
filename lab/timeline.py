"""The timeline picture of `lab failover --png FILE`: who answered each probe query, over time.

One panel per failure (rows) and mode (columns); in each, one lane per client, one mark per
query at its send time relative to the failure (ms): which site answered it, or a red mark for
a lost one. A dashed line marks when the failed site's router changed its route. Drawn with
matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .failover import FailureResult

# matplotlib's tab10 without its red, which marks a lost query: the sites in name order
# (server1 blue, server2 orange in the original lab)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
           "#17becf")  # fmt: skip
LOST_COLOUR = "#d62728"
OTHER_COLOUR = "#7f7f7f"
BEFORE_MS = 300  # how much of the time before the failure to show


def draw_timeline(results: Sequence[FailureResult], path: Path) -> None:
    """Write the timeline of `results` as a PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    modes = list(dict.fromkeys(r.mode for r in results))
    failures = list(dict.fromkeys(r.failure.key for r in results))
    cell = {(r.mode, r.failure.key): r for r in results}
    clients = list(dict.fromkeys(c for r in results for c in r.scenario.home))
    sites = sorted({s for r in results for s in (*r.scenario.home.values(), r.site)})
    colours = {site: PALETTE[i % len(PALETTE)] for i, site in enumerate(sites)}
    height = (0.45 + 0.42 * len(clients)) * len(failures) + 0.5
    figure, axes = plt.subplots(
        len(failures), len(modes), figsize=(6.5 * len(modes), height), squeeze=False
    )
    for row, key in enumerate(failures):
        for column, mode in enumerate(modes):
            ax = axes[row][column]
            result = cell.get((mode, key))
            if result is None:
                ax.set_axis_off()
                continue
            _panel(ax, result, clients, colours)
            if row == len(failures) - 1:
                ax.set_xlabel("ms since the failure was made", fontsize=8)
    handles = [
        Line2D([], [], marker="|", linestyle="", color=colour, markersize=8, label=f"by {s}")
        for s, colour in colours.items()
    ]
    handles.append(Line2D([], [], marker="|", linestyle="", color=LOST_COLOUR, markersize=8,
                          label="lost (no answer in 100 ms)"))  # fmt: skip
    routers = " / ".join(dict.fromkeys(r.router for r in results))
    handles.append(Line2D([], [], linestyle="--", color="black", label=f"{routers} route changed"))
    columns = min(len(handles), 4)
    legend_rows = -(-len(handles) // columns)
    figure.legend(handles=handles, loc="upper center", ncol=columns, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.2 * (legend_rows + 0.75) / height))
    figure.savefig(path, dpi=72)
    plt.close(figure)


def _panel(ax, result: FailureResult, clients: list[str], colours: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """One failure in one mode: a lane per client."""
    end_ms = result.window * 1000
    for lane, client in enumerate(clients):
        xs, marks = [], []
        for record in result.records.get(client, []):
            t = (record.sent - result.t0) * 1000
            if -BEFORE_MS <= t <= end_ms:
                xs.append(t)
                marks.append(_colour(record.server, colours))
        ax.scatter(xs, [lane] * len(xs), c=marks, marker="|", s=60, linewidths=1)
    if result.router_ms is not None:
        ax.axvline(result.router_ms, color="black", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    title = f"{result.mode} mode, {result.title or result.failure.title}"
    affected = result.affected()
    if affected:
        worst = max(affected, key=lambda o: (not o.recovered, o.outage_ms))
        outage = f"{worst.outage_ms:.0f} ms" if worst.recovered else f"> {worst.outage_ms:.0f} ms"
        title += f": {worst.client} outage {outage}, {worst.lost} lost"
    ax.set_title(title, fontsize=8, loc="left")
    ax.set_yticks(range(len(clients)), clients, fontsize=7)
    ax.set_ylim(-0.6, len(clients) - 0.4)
    ax.set_xlim(-BEFORE_MS, end_ms)
    ax.tick_params(axis="x", labelsize=7)


def _colour(server: str | None, colours: dict[str, str]) -> str:
    if server is None:
        return LOST_COLOUR
    return colours.get(server, OTHER_COLOUR)
