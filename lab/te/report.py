"""`lab te`'s text: what the site announced before and after, each client's site before and
after with its router's AS path, when it moved, the sites' catchments and the verdict."""

from __future__ import annotations

from collections import defaultdict

from ..catchment import Catchment, ClientCatchment
from ..catchment.report import columns, verdict
from ..catchment.settle import Change
from ..topology import Family
from .run import TeResult

HEADER = ("client", "family", "before", "AS path", "after", "AS path", "moved after")


def format_result(result: TeResult) -> str:
    after = result.after
    settled = result.settled
    moved = settled.moved()
    lines = [
        f"lab {after.lab!r} ({after.topology}, {after.mode} mode): {result.site} {result.action}",
        f"  before: {result.announced_before.describe()}",
        f"  after:  {result.announced_after.describe()}",
        "",
        *columns([HEADER, *_rows(result)]),
        "",
    ]
    for family in after.families:
        lines.append(f"IPv{family} clients per site: {_per_site(result.before, after, family)}")
    changed = list(dict.fromkeys(router for router, _ in result.paths_changed()))
    routers = len({router for router, _ in after.paths})
    lines.append(
        f"routers whose selected path changed: {len(changed)} of {routers}"
        + (f" ({', '.join(changed)})" if changed else "")
    )
    if settled.settled:
        what = _moved(moved)
        lines.append(
            f"settled {_ms(settled.settle_time)} after the command ({what}; the speaker took "
            f"{_ms(result.changed_in)}; then no move for {result.quiet:g} s)"
        )
    else:
        lines.append(
            f"✘ not settled: clients still moving {_ms(settled.settle_time)} after the command"
        )
    lines.append(verdict(after))
    return "\n".join(lines)


def _rows(result: TeResult) -> list[tuple[str, ...]]:
    changes: dict[tuple[str, Family], list[Change]] = defaultdict(list)
    for change in result.settled.changes:
        changes[(change.client, change.family)].append(change)
    rows: list[tuple[str, ...]] = []
    for entry in result.after.clients:
        earlier = _get(result.before, entry.client, entry.family)
        seen = changes.get((entry.client, entry.family), [])
        when = "-"
        if seen:
            when = _ms(seen[-1].at)
            if len(seen) > 1:  # on the way: unanswered for a moment, or BGP's path hunting
                way = ", ".join(f"{c.after or 'no answer'} at {_ms(c.at)}" for c in seen[:-1])
                when += f" (before: {way})"
        rows.append(
            (
                entry.client,
                f"IPv{entry.family}",
                _site(earlier),
                _as_path(earlier),
                _site(entry),
                _as_path(entry),
                when,
            )
        )
    return rows


def _moved(moved: dict[tuple[str, Family], tuple[str | None, str | None]]) -> str:
    if not moved:
        return "no client moved"
    clients = len({client for client, _ in moved})
    families = ", ".join(
        f"IPv{family} {sum(1 for _, f in moved if f == family)}"
        for family in sorted({family for _, family in moved})
    )
    return f"{clients} client{'' if clients == 1 else 's'} moved: {families}"


def _get(catchment: Catchment, client: str, family: Family) -> ClientCatchment | None:
    try:
        return catchment.get(client, family)
    except KeyError:
        return None


def _site(entry: ClientCatchment | None) -> str:
    return "-" if entry is None or entry.site is None else entry.site


def _as_path(entry: ClientCatchment | None) -> str:
    if entry is None or entry.path is None:
        return "-"
    return entry.path.as_path or "(own AS)"


def _per_site(before: Catchment, after: Catchment, family: Family) -> str:
    counts_before = {site: len(c) for site, c in before.clients_of(family).items()}
    parts = []
    for site, clients in after.clients_of(family).items():
        was = counts_before.get(site, 0)
        if site is None and not clients and not was:
            continue
        name = "none" if site is None else site
        parts.append(f"{name} {was}" if was == len(clients) else f"{name} {was} → {len(clients)}")
    return ", ".join(parts)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
