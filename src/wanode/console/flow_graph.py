"""A flow definition laid out as a graph to draw: nodes in layers by their longest path from the
start node, ordered within each layer to cut edge crossings (barycenters), outcome edges routed
through the layers they span. Pure.

It reads the definition as written, not the checked `Flow`, so that the editor can draw a
definition that does not deploy and pin each of its problems to its node: whatever cannot be
read (a node that is not an object, an edge to a missing node) is left out of the drawing, and
its problem is shown by the node it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from wanode.flows.definition import END

NODE_WIDTH: Final = 176.0
NODE_HEIGHT: Final = 52.0
LAYER_GAP: Final = 88.0  # between a layer's bottom and the next one's top: room for labels
COLUMN_GAP: Final = 40.0
BEND_WIDTH: Final = 16.0  # a bend of an edge that crosses a layer, in that layer
MARGIN: Final = 24.0
BACK_LANE: Final = 28.0  # room right of the nodes for each edge going back up
SWEEPS: Final = 4
TITLE_CHARS: Final = 22
LABEL_CHAR: Final = 6.2  # the width of a character of an edge label (11 px sans-serif), about

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A node: its id, type and optional name, and where it is drawn (top left, size)."""

    id: str
    type: str
    name: str
    layer: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def title(self) -> str:
        return _clip(self.id)

    @property
    def subtitle(self) -> str:
        return _clip(f"{self.type} · {self.name}" if self.name else self.type)


@dataclass(frozen=True)
class Edge:
    """The outcomes of `source` that go to `target`, drawn as one line through `points`."""

    source: str
    target: str
    outcomes: tuple[str, ...]
    points: tuple[Point, ...]
    label_at: Point
    back: bool  # to the same or an earlier layer: drawn as a curve on the right

    @property
    def label(self) -> str:
        return ", ".join(self.outcomes)

    @property
    def path(self) -> str:
        """The SVG path data."""
        first, *rest = self.points
        if self.back:
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
            return f"M{x0:.1f},{y0:.1f} C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}"
        return f"M{first[0]:.1f},{first[1]:.1f}" + "".join(f" L{x:.1f},{y:.1f}" for x, y in rest)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    width: float
    height: float

    def box(self, node_id: str) -> Box | None:
        return next((b for b in self.nodes if b.id == node_id), None)


@dataclass(frozen=True)
class Outline:
    """What can be read of a definition: node id -> (type, name), its start node, and its
    edges as (source, outcome, target) to nodes that exist, in the order written."""

    nodes: Mapping[str, tuple[str, str]]
    start: str | None
    edges: tuple[tuple[str, str, str], ...]


def outline(doc: Any) -> Outline:
    nodes_doc = doc.get("nodes") if isinstance(doc, Mapping) else None
    if not isinstance(nodes_doc, Mapping):
        return Outline({}, None, ())
    nodes: dict[str, tuple[str, str]] = {}
    for node_id, node in nodes_doc.items():
        if isinstance(node_id, str):
            kind = node.get("type") if isinstance(node, Mapping) else None
            name = node.get("name") if isinstance(node, Mapping) else None
            nodes[node_id] = (
                kind if isinstance(kind, str) else "?",
                name if isinstance(name, str) else "",
            )
    edges: list[tuple[str, str, str]] = []
    for node_id, node in nodes_doc.items():
        on = node.get("on") if isinstance(node, Mapping) else None
        if node_id in nodes and isinstance(on, Mapping):
            edges += [
                (node_id, str(outcome), target)
                for outcome, target in on.items()
                # `end` as a target is no node: the outcome ends the run, as unconnected.
                if isinstance(target, str) and target in nodes and target != END
            ]
    start = doc.get("start") if isinstance(doc, Mapping) else None
    if not (isinstance(start, str) and start in nodes):
        start = next((n for n, (kind, _) in nodes.items() if kind == "start"), None)
    return Outline(nodes, start or next(iter(nodes), None), tuple(edges))


def layout(doc: Any) -> Graph:
    """The drawing of a definition document (parsed JSON or YAML, valid or not)."""
    shape = outline(doc)
    if not shape.nodes:
        return Graph((), (), 2 * MARGIN, 2 * MARGIN)
    order, back = _depth_first(shape)
    rank = _longest_path(order, shape.edges, back)
    grouped = _group(shape.edges)
    layers, chains = _layers(order, rank, grouped, back)
    _sweep(layers, chains)
    widths = [_layer_width(layer) for layer in layers]
    content_width = max(widths)
    centres: dict[str, Point] = {}
    for index, layer in enumerate(layers):
        x = MARGIN + (content_width - widths[index]) / 2
        cy = MARGIN + index * (NODE_HEIGHT + LAYER_GAP) + NODE_HEIGHT / 2
        for item in layer:
            width = BEND_WIDTH if _is_bend(item) else NODE_WIDTH
            centres[item] = (x + width / 2, cy)
            x += width + COLUMN_GAP
    boxes = tuple(
        Box(
            id=node_id,
            type=shape.nodes[node_id][0],
            name=shape.nodes[node_id][1],
            layer=rank[node_id],
            x=centres[node_id][0] - NODE_WIDTH / 2,
            y=centres[node_id][1] - NODE_HEIGHT / 2,
        )
        for node_id in order
    )
    edges = _route(grouped, chains, centres, content_width)
    returns = [e for e in edges if e.back]
    # The lanes of edges going back, and half of the widest label centred on one.
    extra = BACK_LANE * len(returns) + max(
        (len(e.label) * LABEL_CHAR / 2 for e in returns), default=0
    )
    width = content_width + 2 * MARGIN + extra
    height = len(layers) * (NODE_HEIGHT + LAYER_GAP) - LAYER_GAP + 2 * MARGIN
    return Graph(boxes, edges, width, height)


def travelled(
    graph: Graph, steps: Iterable[tuple[str, str]]
) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes a run went through and the edges (source, target) it took, from the
    (node, outcome) steps of its history."""
    by_outcome = {(e.source, outcome): e.target for e in graph.edges for outcome in e.outcomes}
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for node, outcome in steps:
        visited.add(node)
        target = by_outcome.get((node, outcome))
        if target is not None:
            taken.add((node, target))
    return visited, taken


def _clip(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _depth_first(shape: Outline) -> tuple[list[str], set[tuple[str, str]]]:
    """Nodes in reverse post-order of a depth-first walk from the start node (then from each
    node not reached yet, in the order written), and the edges that close a cycle in it.
    Iterative: a long flow must not reach the recursion limit."""
    successors: dict[str, list[str]] = {n: [] for n in shape.nodes}
    for source, _, target in shape.edges:
        if target not in successors[source]:
            successors[source].append(target)
    state: dict[str, int] = {}  # 1: on the walk's stack, 2: done
    finished: list[str] = []
    back: set[tuple[str, str]] = set()
    roots = [shape.start] if shape.start else []
    for root in [*roots, *shape.nodes]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                finished.append(node)
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    return finished[::-1], back


def _longest_path(
    order: list[str], edges: Iterable[tuple[str, str, str]], back: set[tuple[str, str]]
) -> dict[str, int]:
    """Each node's layer: the longest path to it over edges that close no cycle. `order` is
    topological for those edges."""
    into: dict[str, list[str]] = {n: [] for n in order}
    for source, _, target in edges:
        if (source, target) not in back:
            into[target].append(source)
    rank: dict[str, int] = {}
    for node in order:
        rank[node] = max((rank[s] + 1 for s in into[node]), default=0)
    return rank


def _group(edges: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """The outcomes of each (source, target), in the order written: one line per pair."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for source, outcome, target in edges:
        grouped.setdefault((source, target), []).append(outcome)
    return grouped


def _bend(source: str, target: str, layer: int) -> str:
    # Node ids are [A-Za-z0-9_-]: a name with spaces can never be one.
    return f" bend {source} {target} {layer}"


def _is_bend(item: str) -> bool:
    return item.startswith(" bend ")


def _layers(
    order: list[str],
    rank: dict[str, int],
    grouped: Mapping[tuple[str, str], list[str]],
    back: set[tuple[str, str]],
) -> tuple[list[list[str]], dict[tuple[str, str], list[str]]]:
    """The items of each layer (nodes, and a bend for each layer an edge crosses), and each
    forward edge's chain of items from its source to its target."""
    layers: list[list[str]] = [[] for _ in range(max(rank.values()) + 1)]
    for node in order:
        layers[rank[node]].append(node)
    chains: dict[tuple[str, str], list[str]] = {}
    for source, target in grouped:
        if (source, target) in back:
            continue
        chain = [source]
        for layer in range(rank[source] + 1, rank[target]):
            bend = _bend(source, target, layer)
            layers[layer].append(bend)
            chain.append(bend)
        chains[(source, target)] = [*chain, target]
    return layers, chains


def _sweep(layers: list[list[str]], chains: Mapping[tuple[str, str], list[str]]) -> None:
    """Reorder each layer, in place, by the mean position of its neighbours in the layer above
    (sweeping down) or below (sweeping up)."""
    above: dict[str, list[str]] = {}
    below: dict[str, list[str]] = {}
    for chain in chains.values():
        for upper, lower in pairwise(chain):
            below.setdefault(upper, []).append(lower)
            above.setdefault(lower, []).append(upper)
    for sweep in range(SWEEPS):
        if sweep % 2 == 0:
            for index in range(1, len(layers)):
                layers[index] = _by_barycentre(layers[index], layers[index - 1], above)
        else:
            for index in range(len(layers) - 2, -1, -1):
                layers[index] = _by_barycentre(layers[index], layers[index + 1], below)


def _by_barycentre(
    layer: list[str], reference: list[str], neighbours: Mapping[str, list[str]]
) -> list[str]:
    """`layer` sorted by the mean position of each item's neighbours in `reference`; an item
    with none keeps its place (the sort is stable)."""
    position = {item: i for i, item in enumerate(reference)}
    keys: dict[str, float] = {}
    for i, item in enumerate(layer):
        linked = [position[n] for n in neighbours.get(item, ()) if n in position]
        keys[item] = sum(linked) / len(linked) if linked else float(i)
    return sorted(layer, key=keys.__getitem__)


def _layer_width(layer: list[str]) -> float:
    widths = [BEND_WIDTH if _is_bend(item) else NODE_WIDTH for item in layer]
    return sum(widths) + COLUMN_GAP * (len(widths) - 1)


def _route(
    grouped: Mapping[tuple[str, str], list[str]],
    chains: Mapping[tuple[str, str], list[str]],
    centres: Mapping[str, Point],
    content_width: float,
) -> tuple[Edge, ...]:
    """Each edge's points. A node's edges down leave from its bottom, spread in the order of
    where they go so that they do not cross there; their labels sit at staggered heights so
    that siblings' labels do not overlap."""
    down: dict[str, list[tuple[str, str]]] = {}
    for pair in chains:
        down.setdefault(pair[0], []).append(pair)
    edges: list[Edge] = []
    for source, pairs in down.items():
        pairs.sort(key=lambda pair: centres[chains[pair][1]][0])
        sx, sy = centres[source]
        for i, pair in enumerate(pairs):
            start = (
                sx - NODE_WIDTH / 2 + NODE_WIDTH * (i + 1) / (len(pairs) + 1),
                sy + NODE_HEIGHT / 2,
            )
            middle = [centres[item] for item in chains[pair][1:-1]]
            tx, ty = centres[pair[1]]
            points = (start, *middle, (tx, ty - NODE_HEIGHT / 2))
            t = 0.3 + 0.4 * i / (len(pairs) - 1) if len(pairs) > 1 else 0.5
            (x0, y0), (x1, y1) = points[0], points[1]
            label = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            edges.append(Edge(source, pair[1], tuple(grouped[pair]), points, label, back=False))
    lane = 0
    for (source, target), outcomes in grouped.items():
        if (source, target) in chains:
            continue
        # Back up (or across one layer): out of the source's right side, round the right of
        # every node, into the target's right side.
        lane += 1
        x_out = MARGIN + content_width + BACK_LANE * lane
        sx, sy = centres[source]
        tx, ty = centres[target]
        start = (sx + NODE_WIDTH / 2, sy)
        end = (tx + NODE_WIDTH / 2, ty)
        points = (start, (x_out, sy), (x_out, ty), end)
        edges.append(Edge(source, target, tuple(outcomes), points, (x_out, (sy + ty) / 2), True))
    return tuple(edges)
