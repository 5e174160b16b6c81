"""Verfploeter (de Vries et al., "Broad and Load-Aware Anycast Mapping with Verfploeter",
IMC 2017): the catchment measured from the sites, without the clients' help.

Every site pings every client network from the anycast address. The client's reply goes to
the anycast address, so it is routed like the client's own traffic to the service, and arrives
at the site whose catchment the client is in, whichever site sent the request. Each site
captures the echo replies it gets; which site got a target's replies is the target's site.

`Verfploeter` is the measurement without I/O: it says which echo requests to send from which
site, matches the replies captured at each site to the requests (the identifier, then a token
and the request's number in the data), and retries a target that nothing came back from. Each
request is sent from each site, so a target whose replies arrive at several sites shows it.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

from ..topology import Family
from .icmp import Echo, echo_request, parse_echo_reply
from .model import Seen, Target

NUMBER_SIZE = 4  # octets of the request's number in its data, after the token
MAX_REQUESTS = 1 << (8 * NUMBER_SIZE)


@dataclass(frozen=True)
class Request:
    """One echo request: its number, the site that sends it, the target, which attempt."""

    number: int
    site: str
    target: Target
    attempt: int


@dataclass(frozen=True)
class Datagram:
    """An echo request to send from `site` (from the anycast address) to `address`."""

    number: int
    site: str
    family: Family
    address: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """A request answered: the site its reply arrived at, and the time since it was sent."""

    request: Request
    site: str
    rtt: float


@dataclass
class _Progress:
    """Where one target stands: requests made, still out and lost, and what came back."""

    target: Target
    attempts: int = 0
    asked: int = 0
    outstanding: int = 0
    lost: int = 0
    error: str | None = None
    arrivals: Counter[str] = field(default_factory=Counter)
    round_trips: list[float] = field(default_factory=list)  # sent from where the reply came
    other_trips: list[float] = field(default_factory=list)  # sent from another site

    def seen(self) -> Seen:
        trips = self.round_trips or self.other_trips
        error = None
        if not self.arrivals:
            error = self.error or ("timeout" if self.lost else None)
        return Seen(
            sites=dict(self.arrivals.most_common()),
            asked=self.asked,
            rtt=statistics.median(trips) if trips else None,
            error=error,
        )


class Verfploeter:
    """One measurement: `senders` ping each of `targets`; replies are captured at any site.

    A target nothing came back from within `timeout` seconds of its last request is pinged
    again by every sender, up to `attempts` times in all. The measurement is `done` when every
    request is answered or lost and no attempt is left to make.
    """

    def __init__(
        self,
        senders: Sequence[str],
        targets: Sequence[Target],
        *,
        identifier: int,
        token: bytes,
        timeout: float = 1.0,
        attempts: int = 2,
        now: float,
    ) -> None:
        if not 0 <= identifier <= 0xFFFF:
            raise ValueError(f"identifier {identifier}: 16 bits")
        self.senders = tuple(senders)
        self.identifier = identifier
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self._progress = [_Progress(target) for target in targets]
        self._requests: list[tuple[Request, _Progress]] = []  # by request number
        self._due: deque[int] = deque()  # request numbers to send, in order
        self._pending: dict[int, float] = {}  # request number -> when it was sent
        self._replies: list[Reply] = []
        for progress in self._progress:
            self._schedule(progress)

    # --- what to send ------------------------------------------------------------------------

    def datagram_to_send(self, *, now: float) -> Datagram | None:
        """The next request due, if any; it counts as sent at `now`."""
        if not self._due:
            return None
        number = self._due.popleft()
        request, _ = self._requests[number]
        self._pending[number] = now
        echo = Echo(self.identifier, number & 0xFFFF, self._data(number))
        target = request.target
        return Datagram(
            number=number,
            site=request.site,
            family=target.family,
            address=target.address,
            data=echo_request(target.family, echo),
        )

    def send_failed(self, number: int, error: str, *, now: float) -> None:
        """A request could not be sent (no route from its site, the site's link down, ...)."""
        if self._pending.pop(number, None) is None:
            return
        _, progress = self._requests[number]
        progress.error = progress.error or error
        self._lose(progress)

    # --- what came back ----------------------------------------------------------------------

    def datagram_received(self, site: str, family: Family, source: str, packet: bytes,
                          *, now: float) -> None:  # fmt: skip
        """A packet the raw socket of `family` at `site` received from `source`; anything but
        a reply to one of this measurement's pending requests, from its target, is ignored."""
        echo = parse_echo_reply(family, packet)
        if echo is None or echo.identifier != self.identifier:
            return
        number = self._number(echo)
        if number is None or number >= len(self._requests):
            return
        request, progress = self._requests[number]
        target = request.target
        if target.family != family or ip_address(source) != ip_address(target.address):
            return
        sent = self._pending.pop(number, None)
        if sent is None:
            return  # a duplicate, or late: already counted as lost
        rtt = now - sent
        self._replies.append(Reply(request, site, rtt))
        progress.outstanding -= 1
        progress.arrivals[site] += 1
        (progress.round_trips if request.site == site else progress.other_trips).append(rtt)

    # --- time --------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When `handle_timer` should run next: the earliest deadline of a pending request
        (None: nothing pending)."""
        if not self._pending:
            return None
        return min(self._pending.values()) + self.timeout

    def handle_timer(self, *, now: float) -> None:
        """Count requests unanswered for `timeout` seconds as lost; retry their targets."""
        expired = [n for n, sent in self._pending.items() if now - sent >= self.timeout]
        for number in expired:
            del self._pending[number]
            self._lose(self._requests[number][1])

    @property
    def done(self) -> bool:
        return not self._pending and not self._due

    # --- the result --------------------------------------------------------------------------

    def replies(self) -> list[Reply]:
        return list(self._replies)

    def results(self) -> dict[Target, Seen]:
        """Each target's catchment so far: how many replies arrived at each site; the round
        trip of the requests sent from the site their replies came back to (else any)."""
        return {progress.target: progress.seen() for progress in self._progress}

    # --- inside ------------------------------------------------------------------------------

    def _schedule(self, progress: _Progress) -> None:
        if not self.senders:
            progress.error = progress.error or "no site to send from"
            return
        progress.attempts += 1
        for site in self.senders:
            number = len(self._requests)
            if number >= MAX_REQUESTS:
                raise ValueError("too many echo requests for one measurement")
            request = Request(number, site, progress.target, progress.attempts)
            self._requests.append((request, progress))
            self._due.append(number)
            progress.asked += 1
            progress.outstanding += 1

    def _lose(self, progress: _Progress) -> None:
        """One of a target's requests is lost; once all are, and none was answered, ping the
        target again if attempts are left."""
        progress.lost += 1
        progress.outstanding -= 1
        if progress.outstanding or progress.arrivals:
            return
        if progress.attempts < self.attempts:
            self._schedule(progress)

    def _data(self, number: int) -> bytes:
        return self.token + number.to_bytes(NUMBER_SIZE, "big")

    def _number(self, echo: Echo) -> int | None:
        data = echo.data
        if len(data) < len(self.token) + NUMBER_SIZE or not data.startswith(self.token):
            return None
        end = len(self.token) + NUMBER_SIZE
        number = int.from_bytes(data[len(self.token) : end], "big")
        return number if number & 0xFFFF == echo.sequence else None
