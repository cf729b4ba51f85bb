"""The console's flow editor text: YAML or JSON in, YAML out, read back the same."""

from __future__ import annotations

from wanode.console.flow_editor import STARTER, by_node, dump, read
from wanode.flows import Problem, parse_flow


def test_the_starter_is_a_flow() -> None:
    source = read(STARTER)
    assert source.problem is None
    assert parse_flow(source.doc).start == "start"


def test_yaml_out_reads_back_the_same_with_on_and_yes_unquoted() -> None:
    definition = {
        "id": "f",
        "nodes": {
            "s": {"type": "start", "on": {"onStart": "b"}},
            "b": {
                "type": "branch",
                "conditions": [
                    {"name": "yes", "when": {"left": "$(x)", "op": "eq", "right": "no"}}
                ],
                "on": {"yes": "e", "None of the above": "e"},
            },
            "e": {"type": "end", "result": {"ok": True, "text": "true", "n": 1}},
        },
    }
    text = dump(definition)
    assert "\n    on:\n" in text and "'on'" not in text
    assert "right: no\n" in text
    assert "text: 'true'" in text  # YAML 1.2's booleans are the ones that need quotes
    assert read(text).doc == definition
    assert list(read(text).doc) == ["id", "nodes"]  # the stored order kept


def test_json_is_read_as_json() -> None:
    assert read(' {"id": "f", "nodes": {}} ').doc == {"id": "f", "nodes": {}}
    broken = read('{"id": "f",}')
    assert broken.doc is None and broken.problem is not None
    assert broken.problem.code == "7000" and broken.problem.message.startswith("not valid JSON")


def test_what_cannot_be_read_says_where() -> None:
    broken = read("id: f\nnodes:\n  a: [1,\n  b: }\n")
    assert broken.problem is not None and broken.problem.node is None
    assert "not valid YAML (line 4, column 6)" in broken.problem.message
    empty = read("  \n")
    assert empty.problem is not None and empty.problem.code == "7003"


def test_problems_are_pinned_to_their_nodes() -> None:
    problems = [
        Problem("a", "n1", "x"),
        Problem("b", None, "app"),
        Problem("c", "n2"),
        Problem("d", "n1", "y"),
    ]
    assert by_node(problems) == {"n1": [problems[0], problems[3]], "n2": [problems[2]]}
