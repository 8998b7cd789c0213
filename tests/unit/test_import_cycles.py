"""No import cycle among carriertui's modules (the walls of issue 13 stay standing).

grimp (which import-linter ships) builds the package's import graph, function-level imports
included: a lazy import still ties two modules together. Imports under ``if TYPE_CHECKING:`` are
left out: they never run.
"""

from __future__ import annotations

import grimp


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's cycles: its strongly connected components of more than one module (or a module
    importing itself). Iterative Tarjan: the graph has a few hundred modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))
    return cycles


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("carriertui", exclude_type_checking_imports=True)
    return {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported == "carriertui" or imported.startswith("carriertui.")
        }
        for module in graph.modules
    }


def describe(graph: dict[str, set[str]], cycle: list[str]) -> str:
    members = set(cycle)
    edges = [f"  {a} -> {b}" for a in cycle for b in sorted(graph[a] & members)]
    return "\n".join([" <-> ".join(cycle), *edges])


def test_the_finder_sees_a_cycle_and_a_straight_line() -> None:
    # The finder itself, on graphs whose answer is known: a test that cannot fail is a defect.
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"a"}}) == [["a"]]
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_among_carriertui_modules() -> None:
    graph = import_graph()
    assert "carriertui.store.enums" in graph  # the graph is the package's, not an empty one
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n\n".join(describe(graph, c) for c in cycles)
