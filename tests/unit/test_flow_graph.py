"""The console's flow graph layout: layers by longest path, edges through the layers they cross,
cycles drawn back up, no overlaps, and definitions that do not parse still drawn."""

from __future__ import annotations

import random
from itertools import combinations
from typing import Any

from wanode.console.flow_graph import NODE_HEIGHT, Box, Graph, layout, outline, travelled


def flow(nodes: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "f", "nodes": nodes, **extra}


def node(kind: str, **on: str) -> dict[str, Any]:
    return {"type": kind, "on": on} if on else {"type": kind}


def layers(graph: Graph) -> dict[str, int]:
    return {b.id: b.layer for b in graph.nodes}


def overlap(a: Box, b: Box) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


def crossings(graph: Graph) -> int:
    """Crossings of straight edge segments between the same two layers."""

    def cross(p: tuple[float, float], q: tuple[float, float], r: Any, s: Any) -> bool:
        def side(a: Any, b: Any, c: Any) -> float:
            return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

        return side(p, q, r) * side(p, q, s) < 0 and side(r, s, p) * side(r, s, q) < 0

    segments = [
        (a, b)
        for e in graph.edges
        if not e.back
        for a, b in zip(e.points, e.points[1:], strict=False)
    ]
    return sum(1 for (p, q), (r, s) in combinations(segments, 2) if cross(p, q, r, s))


def test_a_chain_goes_down_one_layer_per_node() -> None:
    graph = layout(
        flow(
            {
                "n1": node("start", onStart="n2"),
                "n2": node("whatsapp", onSuccess="n3"),
                "n3": node("receive", **{"whatsapp.mo": "n4"}),
                "n4": node("end"),
            }
        )
    )
    assert layers(graph) == {"n1": 0, "n2": 1, "n3": 2, "n4": 3}
    boxes = {b.id: b for b in graph.nodes}
    assert boxes["n1"].y < boxes["n2"].y < boxes["n3"].y < boxes["n4"].y
    assert len({b.x for b in graph.nodes}) == 1  # one column, centred
    [edge] = [e for e in graph.edges if e.source == "n3"]
    assert edge.target == "n4" and edge.label == "whatsapp.mo" and not edge.back
    # From the bottom of n3 to the top of n4.
    assert edge.points[0][1] == boxes["n3"].y + NODE_HEIGHT
    assert edge.points[-1] == (boxes["n4"].x + boxes["n4"].width / 2, boxes["n4"].y)
    assert edge.path.startswith("M") and " L" in edge.path
    assert graph.height >= boxes["n4"].y + NODE_HEIGHT


def test_the_start_node_is_on_top_wherever_it_is_written() -> None:
    graph = layout(
        flow(
            {
                "done": node("end"),
                "go": node("whatsapp", onSuccess="done"),
                "s": node("start", onStart="go"),
            }
        )
    )
    assert layers(graph) == {"s": 0, "go": 1, "done": 2}


def test_a_node_sits_below_its_longest_way_in_and_long_edges_bend_between_nodes() -> None:
    graph = layout(
        flow(
            {
                "s": node("start", onStart="send"),
                "send": node("whatsapp", onSuccess="wait", onError="fin"),
                "wait": node("receive", **{"whatsapp.mo": "set"}),
                "set": node("set", onSuccess="fin"),
                "fin": node("end"),
            }
        )
    )
    assert layers(graph)["fin"] == 4
    [long] = [e for e in graph.edges if e.source == "send" and e.target == "fin"]
    assert long.label == "onError"
    assert len(long.points) == 4  # start, a bend in each of the layers 2 and 3, end
    for x, y in long.points[1:-1]:
        for box in graph.nodes:
            assert not (box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height)
    assert not any(overlap(a, b) for a, b in combinations(graph.nodes, 2))


def test_outcomes_to_one_node_are_one_edge_and_siblings_labels_do_not_meet() -> None:
    graph = layout(
        flow(
            {
                "s": node("start", onStart="send"),
                "send": node(
                    "whatsapp",
                    onRead="ok",
                    onError="fail",
                    onTimeout="fail",
                    onDeliveryReportFail="other",
                ),
                "ok": node("end"),
                "fail": node("end"),
                "other": node("end"),
            }
        )
    )
    out = {e.target: e for e in graph.edges if e.source == "send"}
    assert out["fail"].outcomes == ("onError", "onTimeout")
    assert out["fail"].label == "onError, onTimeout"
    assert len({e.label_at for e in out.values()}) == 3
    assert len({e.points[0] for e in out.values()}) == 3  # they leave the node apart
    assert crossings(graph) == 0


def test_a_cycle_is_drawn_back_up_on_the_right() -> None:
    graph = layout(
        flow(
            {
                "s": node("start", onStart="ask"),
                "ask": node("whatsapp", onSuccess="wait"),
                "wait": node("receive", **{"whatsapp.mo": "check", "onTimeout": "ask"}),
                "check": node("branch", yes="done", **{"None of the above": "ask"}),
                "done": node("end"),
            }
        )
    )
    assert layers(graph) == {"s": 0, "ask": 1, "wait": 2, "check": 3, "done": 4}
    back = [e for e in graph.edges if e.back]
    assert {(e.source, e.target) for e in back} == {("wait", "ask"), ("check", "ask")}
    right = max(b.x + b.width for b in graph.nodes)
    for edge in back:
        assert edge.path.startswith("M") and " C" in edge.path
        assert edge.label_at[0] > right
        assert edge.label_at[0] < graph.width
    assert len({e.label_at[0] for e in back}) == 2  # a lane each


def test_a_node_that_loops_to_itself() -> None:
    graph = layout(flow({"s": node("start", onStart="d"), "d": node("delay", onSuccess="d")}))
    [loop] = [e for e in graph.edges if e.source == "d"]
    assert loop.back and loop.target == "d"


def test_barycentres_untangle_crossed_children() -> None:
    # Written in an order that, kept as is, crosses a->d with b->c.
    graph = layout(
        flow(
            {
                "s": node("start", onStart="split"),
                "split": node("branch", one="a", two="b"),
                "c": node("end"),
                "d": node("end"),
                "a": node("set", onSuccess="d"),
                "b": node("set", onSuccess="c"),
            }
        )
    )
    assert crossings(graph) == 0


def test_a_definition_with_problems_is_still_drawn() -> None:
    graph = layout(
        {
            "id": "broken",
            "nodes": {
                "s": {"type": "start", "on": {"onStart": "n2"}},
                "n2": {"type": "whatsapp", "on": {"onSuccess": "nowhere", "onError": 7}},
                "n3": "not an object",
                "n4": {"type": "bogus", "on": "not a mapping", "name": "Odd one"},
                5: {"type": "end"},
            },
        }
    )
    boxes = {b.id: b for b in graph.nodes}
    assert set(boxes) == {"s", "n2", "n3", "n4"}
    assert boxes["n3"].type == "?"
    assert boxes["n4"].subtitle == "bogus · Odd one"
    assert [(e.source, e.target) for e in graph.edges] == [("s", "n2")]
    assert not any(overlap(a, b) for a, b in combinations(graph.nodes, 2))


def test_an_outcome_to_end_is_unconnected_even_beside_a_node_named_end() -> None:
    graph = layout(
        flow(
            {
                "s": node("start", onStart="send"),
                "send": node("whatsapp", onSuccess="end", onError="end"),
                "end": node("end"),
            }
        )
    )
    assert [(e.source, e.target) for e in graph.edges] == [("s", "send")]
    assert {b.id for b in graph.nodes} == {"s", "send", "end"}


def test_nothing_to_draw() -> None:
    for doc in (None, [], "text", {"nodes": []}, {"nodes": {}}):
        graph = layout(doc)
        assert graph.nodes == () and graph.edges == ()
        assert graph.width > 0 and graph.height > 0


def test_outline_reads_the_start_named_or_found() -> None:
    doc = flow({"a": node("set", onSuccess="b"), "b": node("start", onStart="a")})
    assert outline(doc).start == "b"
    assert outline({**doc, "start": "a"}).start == "a"
    assert outline({**doc, "start": "missing"}).start == "b"
    assert outline(flow({"x": node("set")})).start == "x"


def test_long_labels_are_clipped_in_boxes() -> None:
    long_id = "a" * 40
    graph = layout(flow({long_id: {"type": "start", "name": "n" * 60}}))
    [box] = graph.nodes
    assert box.id == long_id and len(box.title) == 22 and box.title.endswith("…")
    assert len(box.subtitle) == 22


def test_large_random_flows_have_no_overlaps_and_fit_their_canvas() -> None:
    rng = random.Random(15)
    for size in (12, 60, 300):
        ids = [f"n{i}" for i in range(size)]
        nodes: dict[str, dict[str, Any]] = {"n0": node("start", onStart="n1")}
        for i in range(1, size):
            on = {f"o{k}": rng.choice(ids) for k in range(rng.randint(0, 3))}
            nodes[f"n{i}"] = {"type": "set", "on": on}
        graph = layout(flow(nodes))
        assert len(graph.nodes) == size
        for a, b in combinations(graph.nodes, 2) if size <= 60 else ():
            assert not overlap(a, b)
        for box in graph.nodes:
            assert box.x >= 0 and box.x + box.width <= graph.width
            assert box.y >= 0 and box.y + box.height <= graph.height
        for edge in graph.edges:
            assert all(0 <= x <= graph.width and 0 <= y <= graph.height for x, y in edge.points)


def test_a_very_long_chain_needs_no_recursion() -> None:
    nodes = {"n0": node("start", onStart="n1")}
    nodes.update({f"n{i}": node("set", onSuccess=f"n{i + 1}") for i in range(1, 3000)})
    nodes["n3000"] = node("end")
    graph = layout(flow(nodes))
    assert layers(graph)["n3000"] == 3000


def test_a_runs_path_is_its_steps_nodes_and_the_edges_their_outcomes_took() -> None:
    graph = layout(
        flow(
            {
                "s": node("start", onStart="send"),
                "send": node("whatsapp", onSuccess="wait", onError="fin"),
                "wait": node("receive", **{"whatsapp.mo": "fin", "onTimeout": "fin"}),
                "fin": node("end"),
            }
        )
    )
    steps = [("s", "onStart"), ("send", "onSuccess"), ("wait", "onTimeout"), ("fin", "end")]
    visited, taken = travelled(graph, steps)
    assert visited == {"s", "send", "wait", "fin"}
    assert taken == {("s", "send"), ("send", "wait"), ("wait", "fin")}
    # An unconnected outcome ends the run: the node is on the path, no edge is.
    assert travelled(graph, [("s", "onStart"), ("send", "onPolicyFail")]) == (
        {"s", "send"},
        {("s", "send")},
    )
