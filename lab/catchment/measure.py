"""Measuring a running lab's catchment: the I/O around `lab.catchment.model` and
`lab.catchment.verfploeter`.

    DNS            every client asks the anycast address a few times, all clients at once, from
                   sockets this process opens inside the clients' namespaces (`lab.answers`)
    paths          every router's selected path for each anycast prefix, from its bgpd
    Verfploeter    raw ICMP sockets inside each site's namespace, bound to the anycast address:
                   they send the echo requests and capture the replies that arrive there; a
                   socket filter passes only this measurement's replies

No process is started inside the lab; the sockets close when the measurement ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import selectors
import socket
import time
from collections.abc import Iterator, Sequence

from .. import answers
from ..answers import Question
from ..lab import Lab, LabError
from ..netns import entered
from ..timestamps import receive, stamp
from ..topology import Family, IPAddress, Topology
from .icmp import echo_reply_filter
from .model import Catchment, Seen, SelectedPath, Target, build, dns_seen
from .verfploeter import Verfploeter

DNS_ROUNDS = 3
# Seconds between one client's query and the next: queries that reach a site together queue
# there, and the last would count the others' time as its round trip (milliseconds on a loaded
# machine, for a lab whose links take microseconds).
DNS_SPACING = 0.001
TIMEOUT = 1.0  # seconds a query or echo request may take
ATTEMPTS = 2  # echo requests to a target nothing came back from are sent this often in all
TOKEN_SIZE = 8
RECEIVE_BUFFER = 4 << 20
SO_RCVBUFFORCE, SO_ATTACH_FILTER = 33, 26  # <asm-generic/socket.h>


def measure(
    lab: Lab,
    *,
    families: Sequence[Family] | None = None,
    verfploeter: bool = True,
    paths: bool = True,
    rounds: int = DNS_ROUNDS,
    timeout: float = TIMEOUT,
    spacing: float = DNS_SPACING,
) -> Catchment:
    """The catchment of a running lab: for every client and family, the site DNS says serves it,
    the site its echo replies reach (unless `verfploeter` is False), its router's path (unless
    `paths` is False). `rounds` queries per client and family, `spacing` seconds apart, each
    given `timeout` seconds."""
    if not lab.is_up():
        raise LabError(f"lab {lab.name!r} is not up (python -m lab up --name {lab.name})")
    started, wall = time.monotonic(), time.time()
    topology = lab.topology
    wanted = [
        target for target in targets(topology) if families is None or target.family in families
    ]
    dns = ask(lab, wanted, rounds, timeout, spacing)
    mapped = run_verfploeter(lab, wanted, timeout) if verfploeter else None
    selected = selected_paths(lab, sorted({t.family for t in wanted})) if paths else {}
    return build(
        lab=lab.name,
        topology=topology.name,
        mode=lab.mode,
        sites=[site.name for site in topology.sites],
        targets=wanted,
        dns=dns,
        verfploeter=mapped,
        paths=selected,
        measured_at=wall,
        duration=time.monotonic() - started,
    )


def targets(topology: Topology) -> list[Target]:
    """Each client network of each family the service is offered in: the client's address on
    its first link, and the router at the other end."""
    found = []
    for family in topology.families:
        for client in topology.clients:
            links = topology.links_of(client.name)
            if not links:
                continue
            link, end = links[0], links[0].end_of(client.name)
            if family == 4:
                address, network = str(end.ip), str(link.network)
            elif end.ip6 is not None and link.network6 is not None:
                address, network = str(end.ip6), str(link.network6)
            else:
                continue  # an IPv4-only client network
            router = link.other_end(client.name).node
            found.append(Target(client.name, family, address, network, router))
    return found


# --- DNS ---------------------------------------------------------------------------------------


def ask(
    lab: Lab, wanted: Sequence[Target], rounds: int, timeout: float, spacing: float = 0.0
) -> dict[Target, Seen]:
    """Each target's client asks the anycast address of its family `rounds` times (every client
    in each round, `spacing` seconds apart); NSID names the site of each answer."""
    service = lab.topology.service
    questions = [
        Question(
            lab.prefix + target.client, _anycast_address(lab.topology, target.family), service.zone
        )
        for target in wanted
    ]
    rounds_answers = [answers.ask(questions, timeout, spacing) for _ in range(max(1, rounds))]
    return {
        target: dns_seen([round_[index] for round_ in rounds_answers])
        for index, target in enumerate(wanted)
    }


# --- paths -------------------------------------------------------------------------------------


def selected_paths(
    lab: Lab, families: Sequence[Family]
) -> dict[tuple[str, Family], SelectedPath | None]:
    """Every running router's selected path for the anycast prefix of each family."""
    found: dict[tuple[str, Family], SelectedPath | None] = {}
    for router in lab.topology.routers:
        if not lab.running(router.name):
            continue
        for family in families:
            paths = lab.bgp_paths(router.name, family)
            best = next((path for path in paths if path.best), None)
            found[(router.name, family)] = (
                None
                if best is None
                else SelectedPath(router.name, best.as_path, best.next_hop, best.server, len(paths))
            )
    return found


# --- Verfploeter -------------------------------------------------------------------------------


def run_verfploeter(
    lab: Lab, wanted: Sequence[Target], timeout: float, attempts: int = ATTEMPTS
) -> dict[Target, Seen]:
    """Ping every target from the anycast address of every running site; capture the echo
    replies at every site; each target's site is where its replies arrived."""
    topology = lab.topology
    sites = [site.name for site in topology.sites if lab.running(site.name)]
    families = sorted({target.family for target in wanted})
    identifier = secrets.randbelow(0x10000)
    with _site_sockets(lab, sites, families, identifier) as sockets:
        senders = sorted({site for site, _ in sockets})
        core = Verfploeter(
            senders, wanted, identifier=identifier, token=os.urandom(TOKEN_SIZE),
            timeout=timeout, attempts=attempts, now=time.monotonic(),
        )  # fmt: skip
        with selectors.DefaultSelector() as selector:
            for key, sock in sockets.items():
                selector.register(sock, selectors.EVENT_READ, key)
            _pump(core, sockets, selector)
    return core.results()


def _pump(
    core: Verfploeter,
    sockets: dict[tuple[str, Family], socket.socket],
    selector: selectors.BaseSelector,
) -> None:
    """Send what is due, read what arrived, expire what is late, until the core is done."""
    while True:
        while (datagram := core.datagram_to_send(now=time.monotonic())) is not None:
            sock = sockets.get((datagram.site, datagram.family))
            try:
                if sock is None:
                    raise OSError(0, "cannot send from this site")
                sock.sendto(datagram.data, (datagram.address, 0))
            except OSError as error:
                reason = error.strerror or str(error)
                core.send_failed(datagram.number, reason, now=time.monotonic())
        if core.done:
            return
        timer = core.get_timer()
        wait = 0.0 if timer is None else max(0.0, timer - time.monotonic())
        for key, _ in selector.select(wait):
            site, family = key.data
            _drain(core, site, family, sockets[(site, family)])
        core.handle_timer(now=time.monotonic())


def _drain(core: Verfploeter, site: str, family: Family, sock: socket.socket) -> None:
    while True:
        try:
            packet, source, received = receive(sock)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            continue  # an ICMP error queued on the socket
        core.datagram_received(site, family, source[0], packet, now=received)


@contextlib.contextmanager
def _site_sockets(
    lab: Lab, sites: Sequence[str], families: Sequence[Family], identifier: int
) -> Iterator[dict[tuple[str, Family], socket.socket]]:
    """A raw ICMP socket per site and family, made inside the site's namespace, bound to the
    anycast address (the source of its requests, the destination of the replies it sees)."""
    sockets: dict[tuple[str, Family], socket.socket] = {}
    try:
        for site in sites:
            for family in families:
                sock = _raw_socket(lab.prefix + site, family)
                try:
                    sock.bind((str(_anycast_address(lab.topology, family)), 0))
                except OSError:
                    sock.close()  # the site has no anycast address now: it neither sends nor sees
                    continue
                _attach_filter(sock, echo_reply_filter(family, identifier))
                stamp(sock)
                sock.setblocking(False)
                sockets[(site, family)] = sock
        yield sockets
    finally:
        for sock in sockets.values():
            sock.close()


def _raw_socket(namespace: str, family: Family) -> socket.socket:
    domain, protocol = (
        (socket.AF_INET, socket.IPPROTO_ICMP) if family == 4
        else (socket.AF_INET6, socket.IPPROTO_ICMPV6)
    )  # fmt: skip
    with entered(namespace):
        sock = socket.socket(domain, socket.SOCK_RAW, protocol)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
    return sock


def _attach_filter(sock: socket.socket, program: bytes) -> None:
    """SO_ATTACH_FILTER takes a struct sock_fprog: the instruction count and a pointer."""
    buffer = ctypes.create_string_buffer(program, len(program))
    count = len(program) // 8
    fprog = bytes(_SockFprog(count, ctypes.cast(buffer, ctypes.c_void_p)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _anycast_address(topology: Topology, family: Family) -> IPAddress:
    address = topology.service.address_of(family)
    if address is None:
        raise LabError(f"topology {topology.name} has no IPv{family} anycast address")
    return address
