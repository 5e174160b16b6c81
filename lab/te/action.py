"""A traffic-engineering action on one site's announcement: parsed from the command line and
applied to what the site announces (pure; `lab.te.change` carries it out on a running lab).

    prepend N            our AS N more times in the AS path (0: none)
    med N | none         MULTI_EXIT_DISC N (RFC 4271 §5.1.4), or none
    community C          add community C: ASN:VALUE, or no-export, no-advertise, no-peer,
                         graceful-shutdown, blackhole (RFC 1997, RFC 3765, RFC 8326, RFC 7999);
                         no-export makes the site a local node (RFC 4786 §4.4)
    no-community C       remove community C (no-community no-export: a local node goes global)
    withdraw             stop announcing the anycast prefixes (the attributes are kept)
    announce             announce them again, with the attributes as they are
    restore              everything as the topology file says
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..topology import Announcement
from ..topology.reader import COMMUNITY, MAX_PREPEND, WELL_KNOWN_COMMUNITIES

Verb = Literal["prepend", "med", "community", "no-community", "withdraw", "announce", "restore"]
VERBS: tuple[Verb, ...] = (
    "prepend",
    "med",
    "community",
    "no-community",
    "withdraw",
    "announce",
    "restore",
)
TAKES_VALUE: frozenset[Verb] = frozenset({"prepend", "med", "community", "no-community"})
MAX_MED = 2**32 - 1


class TeError(ValueError):
    """An action that cannot be parsed or applied; the message says why."""


@dataclass(frozen=True)
class TeAction:
    """One action: a verb and, for those that take one, its value."""

    verb: Verb
    value: int | str | None = None

    @classmethod
    def parse(cls, words: Sequence[str]) -> TeAction:
        """`["prepend", "2"]`, `["med", "none"]`, `["community", "no-export"]`, `["withdraw"]`."""
        if not words:
            raise TeError(f"give an action: {', '.join(VERBS)}")
        verb, *rest = words
        if verb not in VERBS:
            raise TeError(f"no action {verb!r} ({', '.join(VERBS)})")
        if verb not in TAKES_VALUE:
            if rest:
                raise TeError(f"{verb} takes no value, not {' '.join(rest)!r}")
            return cls(verb)
        if len(rest) != 1:
            raise TeError(f"{verb} takes one value: {_USAGE[verb]}")
        value = rest[0]
        if verb == "prepend":
            return cls(verb, _integer(value, 0, MAX_PREPEND, verb))
        if verb == "med":
            return cls(verb, None if value.lower() == "none" else _integer(value, 0, MAX_MED, verb))
        return cls(verb, community(value))

    def __str__(self) -> str:
        if self.verb not in TAKES_VALUE:
            return self.verb
        return f"{self.verb} {'none' if self.value is None else self.value}"


_USAGE: dict[Verb, str] = {
    "prepend": f"N, 0 to {MAX_PREPEND} (0: no prepending)",
    "med": f"N, 0 to {MAX_MED}, or none",
    "community": "ASN:VALUE or " + ", ".join(WELL_KNOWN_COMMUNITIES),
    "no-community": "a community the site announces",
}


def _integer(text: str, low: int, high: int, verb: Verb) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise TeError(f"{verb}: {text!r} is not {_USAGE[verb]}")
    return value


def community(text: str) -> str:
    """A community as the topology file and FRR write it: `ASN:VALUE` or a well-known name."""
    name = text.lower()
    if name in WELL_KNOWN_COMMUNITIES:
        return name
    match = COMMUNITY.fullmatch(name)
    if not match or not all(0 <= int(part) <= 65535 for part in match.groups()):
        raise TeError(f"community {text!r} is not {_USAGE['community']} (ASN and VALUE 0..65535)")
    return f"{int(match[1])}:{int(match[2])}"


@dataclass(frozen=True)
class SiteAnnouncement:
    """What a site announces: the attributes, and whether it has withdrawn the prefixes."""

    announcement: Announcement
    withdrawn: bool = False

    def describe(self) -> str:
        """In words, e.g. "prepend 2, MED 50, communities no-export (a local node)"."""
        a = self.announcement
        parts = []
        if a.prepend:
            parts.append(f"prepend {a.prepend}")
        if a.med is not None:
            parts.append(f"MED {a.med}")
        communities = a.all_communities()
        if communities:
            parts.append("communities " + " ".join(communities))
        text = ", ".join(parts) or "no prepend, MED or community"
        if "no-export" in communities:
            text += " (a local node)"
        return f"withdrawn (when announced: {text})" if self.withdrawn else text


def apply(action: TeAction, now: SiteAnnouncement, configured: Announcement) -> SiteAnnouncement:
    """What the site announces after `action`, from what it announces `now` (`configured`:
    the topology file's announcement, which `restore` goes back to)."""
    a = now.announcement
    if action.verb == "restore":
        return SiteAnnouncement(configured)
    if action.verb == "withdraw":
        return replace(now, withdrawn=True)
    if action.verb == "announce":
        return replace(now, withdrawn=False)
    if action.verb == "prepend":
        assert isinstance(action.value, int)
        return replace(now, announcement=replace(a, prepend=action.value))
    if action.verb == "med":
        assert action.value is None or isinstance(action.value, int)
        return replace(now, announcement=replace(a, med=action.value))
    assert isinstance(action.value, str)
    if action.verb == "community":
        if action.value in a.all_communities():
            return now
        return replace(now, announcement=replace(a, communities=(*a.communities, action.value)))
    # no-community
    if action.value not in a.all_communities():
        have = " ".join(a.all_communities()) or "none"
        raise TeError(f"no-community: the site does not announce {action.value} (it has: {have})")
    kept = tuple(c for c in a.communities if c != action.value)
    scope = "global" if action.value == "no-export" else a.scope
    return replace(now, announcement=replace(a, communities=kept, scope=scope))
