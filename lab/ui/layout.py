"""Where each node of a topology is drawn: any graph, no hand-placed coordinates.

Stress majorization (Gansner, Koren and North, "Graph Drawing by Stress Majorization", 2004):
the drawing distance of every pair of nodes is pulled towards their distance in hops, with
weight 1/d², starting from classical multidimensional scaling (deterministic, no random seed).
Servers are held on a line at the top and clients on a line at the bottom (after each
iteration their heights are set back: a projection, as in constrained stress majorization), so
that traffic flows down the page from the anycast sites to the clients, whatever the routers
in between. The drawing is mirrored so that the first server (by name) is on the left, and
scaled into the unit square.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Matrix = npt.NDArray[np.float64]
ITERATIONS = 300
TOLERANCE = 1e-5


def hop_distances(nodes: list[str], edges: Iterable[tuple[str, str]]) -> Matrix:
    """All-pairs shortest paths in hops (breadth-first from each node). Nodes in different
    components are put one hop further apart than the farthest connected pair."""
    index = {name: i for i, name in enumerate(nodes)}
    neighbours: list[set[int]] = [set() for _ in nodes]
    for a, b in edges:
        if a != b:
            neighbours[index[a]].add(index[b])
            neighbours[index[b]].add(index[a])
    n = len(nodes)
    distances = np.full((n, n), np.inf)
    for source in range(n):
        distances[source, source] = 0
        queue = deque([source])
        while queue:
            here = queue.popleft()
            for there in neighbours[here]:
                if distances[source, there] == np.inf:
                    distances[source, there] = distances[source, here] + 1
                    queue.append(there)
    finite = distances[np.isfinite(distances)]
    distances[~np.isfinite(distances)] = (finite.max() if finite.size else 0) + 1
    return distances


def _classical_scaling(distances: Matrix) -> Matrix:
    """Torgerson's classical MDS: the two main axes of the double-centred squared distances."""
    n = len(distances)
    centring = np.eye(n) - np.ones((n, n)) / n
    inner = -0.5 * centring @ (distances**2) @ centring
    values, vectors = np.linalg.eigh(inner)
    order = np.argsort(values)[::-1][:2]
    coordinates = vectors[:, order] * np.sqrt(np.maximum(values[order], 1e-9))
    for axis in range(coordinates.shape[1]):  # eigenvectors have no sign of their own
        column = coordinates[:, axis]
        if column[np.argmax(np.abs(column))] < 0:
            coordinates[:, axis] = -column
    return np.asarray(coordinates, dtype=np.float64)


def _apart(start: Matrix) -> Matrix:
    """The start moved by a small, fixed amount per node. Nodes with the same distance to every
    other (two routers with the same neighbours) start at the same place, and SMACOF never
    separates two nodes drawn at one point; a nudge lets it."""
    index = np.arange(len(start), dtype=np.float64)
    nudge = np.stack([np.cos(index * 2.399), np.sin(index * 2.399)], axis=1)  # the golden angle
    spread = float(np.abs(start).max()) or 1.0
    return np.asarray(start + 1e-3 * spread * nudge, dtype=np.float64)


def _majorize(distances: Matrix, start: Matrix, heights: Mapping[int, float]) -> Matrix:
    """SMACOF iterations on the weighted stress sum w_ij (|x_i - x_j| - d_ij)², w = d^-2, with
    the nodes of `heights` held at those heights."""
    n = len(distances)
    with np.errstate(divide="ignore"):
        weights = np.where(distances > 0, 1.0 / distances**2, 0.0)
    laplacian = -weights
    laplacian[np.diag_indices(n)] = weights.sum(axis=1)
    inverse = np.linalg.pinv(laplacian)
    pinned = np.array(list(heights), dtype=int)
    pinned_y = np.array(list(heights.values()), dtype=float)
    x = start.copy()
    x[pinned, 1] = pinned_y
    previous = np.inf
    for _ in range(ITERATIONS):
        difference = x[:, None, :] - x[None, :, :]
        drawn = np.sqrt((difference**2).sum(axis=2))
        stress = float((weights * (drawn - distances) ** 2).sum())
        if previous - stress < TOLERANCE * previous:
            break
        previous = stress
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(drawn > 1e-9, weights * distances / drawn, 0.0)
        b = -ratio
        b[np.diag_indices(n)] = ratio.sum(axis=1)
        x = inverse @ (b @ x)
        x[pinned, 1] = pinned_y
    return x


def _heights(distances: Matrix, servers: list[int], clients: list[int]) -> dict[int, float]:
    """Servers on a top line, clients on a bottom line (y grows downwards), as far apart as a
    client is, on average, from its nearest server."""
    if not servers or not clients:
        return {}
    gap = float(distances[np.ix_(clients, servers)].min(axis=1).mean())
    return {**{i: -gap / 2 for i in servers}, **{i: gap / 2 for i in clients}}


def layout(
    nodes: list[str], edges: Iterable[tuple[str, str]], roles: Mapping[str, str] | None = None
) -> dict[str, Point]:
    """Coordinates in the unit square (y downwards) for every node."""
    roles = roles or {}
    if not nodes:
        return {}
    if len(nodes) == 1:
        return {nodes[0]: (0.5, 0.5)}
    distances = hop_distances(nodes, edges)
    servers = [i for i, name in enumerate(nodes) if roles.get(name) == "server"]
    clients = [i for i, name in enumerate(nodes) if roles.get(name) == "client"]
    start = _classical_scaling(distances)
    heights = _heights(distances, servers, clients)
    if not heights and start[:, 0].std() < start[:, 1].std():
        start = start[:, ::-1].copy()  # no roles to go by: the long side horizontal
    x = _majorize(distances, _apart(start), heights)
    first = min(servers, key=lambda i: nodes[i]) if servers else None
    if first is not None and x[first, 0] > x[:, 0].mean():
        x[:, 0] = -x[:, 0]
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.maximum(high - low, 1e-9)
    scale = float(span.max())
    placed = (x - low) / scale + (1 - span / scale) / 2  # keep the aspect ratio, centred
    return {name: (float(placed[i, 0]), float(placed[i, 1])) for i, name in enumerate(nodes)}
