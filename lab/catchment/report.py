"""`lab catchment`'s text: a table of every client network, each method side by side, then the
sites' catchments and whether the two methods agree."""

from __future__ import annotations

from ..topology import Family
from .model import Catchment, ClientCatchment, Seen

HEADER = ("client", "family", "router", "AS path", "DNS (NSID)", "RTT", "Verfploeter", "RTT", "")


def format_table(catchment: Catchment) -> str:
    """The catchment as a text table, a summary per site, and the verdict."""
    verfploeter = catchment.verfploeter_run
    rows = [_row(entry, verfploeter) for entry in catchment.clients]
    header = HEADER if verfploeter else (*HEADER[:6], "")
    lines = [
        f"catchment of lab {catchment.lab!r} ({catchment.topology}, {catchment.mode} mode), "
        f"measured in {catchment.duration:.2f} s",
        "",
        *columns([header, *rows]),
        "",
    ]
    for family in catchment.families:
        lines.append(f"IPv{family} clients per site: {_per_site(catchment, family)}")
    lines.append(verdict(catchment))
    return "\n".join(lines)


def _per_site(catchment: Catchment, family: Family) -> str:
    """How many clients each site's catchment holds, and how many of them DNS did not answer."""
    parts = []
    for site, clients in catchment.clients_of(family).items():
        if site is None:
            if clients:
                parts.append(f"none {len(clients)}")
            continue
        silent = sum(1 for client in clients if catchment.get(client, family).dns.site is None)
        parts.append(
            f"{site} {len(clients)}" + (f" ({silent} without a DNS answer)" if silent else "")
        )
    return ", ".join(parts)


def _row(entry: ClientCatchment, verfploeter: bool) -> tuple[str, ...]:
    path = entry.path
    cells = (
        entry.client,
        f"IPv{entry.family}",
        entry.target.router,
        "-" if path is None else (path.as_path or "(own AS)"),
        _site(entry.dns),
        _rtt(entry.dns),
    )
    if not verfploeter or entry.verfploeter is None:
        return (*cells, "✔" if entry.dns.site is not None else "✘")
    mark = "✔" if entry.verdict == "agree" else f"✘ {entry.verdict}"
    return (*cells, _site(entry.verfploeter), _rtt(entry.verfploeter), mark)


def _site(seen: Seen) -> str:
    if not seen.sites:
        return f"- ({seen.error})" if seen.error else "-"
    if len(seen.sites) == 1:
        return next(iter(seen.sites))
    return " + ".join(f"{site} ({count})" for site, count in seen.sites.items())


def _rtt(seen: Seen) -> str:
    return "-" if seen.rtt is None else f"{seen.rtt * 1000:.2f} ms"


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as lines of text, each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip


def verdict(catchment: Catchment) -> str:
    """Whether both methods agree on every client network, or where they do not."""
    count = len({entry.client for entry in catchment.clients})
    families = " and ".join(f"IPv{family}" for family in catchment.families)
    problems = catchment.problems()
    if not catchment.verfploeter_run:
        if not problems:
            return f"✔ every client ({count}) answered over {families} (DNS only)"
        return f"✘ not answered: {', '.join(f'{e.client} IPv{e.family}' for e in problems)}"
    if not problems:
        return f"✔ DNS and Verfploeter agree for every client network ({count}) over {families}"
    lines = [f"✘ DNS and Verfploeter disagree for {len(problems)} of {len(catchment.clients)}:"]
    for entry in problems:
        lines.append(f"  {entry.client} IPv{entry.family}: {entry.verdict} ({_detail(entry)})")
    return "\n".join(lines)


def _detail(entry: ClientCatchment) -> str:
    verfploeter = entry.verfploeter
    assert verfploeter is not None
    return f"DNS: {_site(entry.dns)}; Verfploeter: {_site(verfploeter)}"
