"""The import directions CONTRIBUTING.md promises, read from the source with `ast` (nothing is
imported, so a cycle fails here and not as a half-initialised module at start-up).

Every import counts, module-level and inside functions: an import moved into a function to
dodge a cycle still runs, later and at a worse moment. Only `if TYPE_CHECKING:` blocks, which
never run, are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cds_service", "cards")
FLASK = ("flask", "werkzeug")  # werkzeug: Flask's HTTP half


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _runs(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below `node` except the bodies of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            yield from (n for orelse in child.orelse for n in (orelse, *_runs(orelse)))
            continue
        yield child
        yield from _runs(child)


def imported_names(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The dotted names a module imports; `from x import y` names x.y when y is a module of ours."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in _runs(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            submodules = {f"{source}.{alias.name}" for alias in node.names} & modules.keys()
            names.update(submodules or {source})
            if len(submodules) < len(node.names):
                names.add(source)
    return names


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    modules = project_modules()
    return {name: {imported for imported in imported_names(name, path, modules) if imported in modules}
            for name, path in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle, as a path that ends where it starts, per strongly connected component that has
    one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(_path_round(node, component, graph))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_round(start: str, component: set[str], graph: Mapping[str, set[str]]) -> list[str]:
    """The shortest way from `start` back to itself inside its component (breadth first)."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ()) & component):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a component but on no cycle")


def _all_imports(package: str) -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported_names(name, path, modules) for name, path in modules.items() if _within(name, package)}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _from(imports: Mapping[str, set[str]], roots: tuple[str, ...]) -> dict[str, list[str]]:
    hits = {name: sorted(i for i in imported if i.split(".")[0] in roots) for name, imported in imports.items()}
    return {name: found for name, found in hits.items() if found}


def test_no_import_cycle_among_the_projects_modules():
    graph = import_graph()
    assert {"cds_service.auth.tokens", "cards.engine", "cds_service.api.hooks"} <= graph.keys()
    assert [" -> ".join(cycle) for cycle in cycles(graph)] == []


def test_cards_imports_neither_the_service_nor_flask():
    assert _from(_all_imports("cards"), ("cds_service", *FLASK)) == {}


def test_the_exception_types_import_no_flask():
    # Every layer raises them (auth, FHIR, protocol), so they must not pull in the web framework.
    assert _from(_all_imports("cds_service.errors"), FLASK) == {}


def test_only_the_app_factory_reaches_into_api():
    """`api` uses the other subpackages and none of them uses `api`; create_app wires it in."""
    reaching = {name: sorted(i for i in imported if _within(i, "cds_service.api"))
                for name, imported in _all_imports("cds_service").items()
                if name != "cds_service" and not _within(name, "cds_service.api")}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_outbound_leans_on_nothing_else_of_ours():
    """HTTP with a deadline, name lookups and the fair pool serve FHIR and JWK Sets alike."""
    imports = _all_imports("cds_service.outbound")
    assert len(imports) >= 4
    assert {name: found for name, found in _from(imports, PACKAGES).items()
            if any(not _within(i, "cds_service.outbound") for i in found)} == {}


def test_the_hook_call_and_everything_it_reaches_is_flask_free():
    """pipeline.answer_hook and receive_feedback are plain functions: neither they nor any module
    they import, however far down, imports the web framework (the views adapt them)."""
    modules = project_modules()
    reached, todo = set(), ["cds_service.pipeline"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo += [i for i in imported_names(name, modules[name], modules) if i in modules]
    assert "cds_service.store" in reached and "cards.engine" in reached
    flask_users = _from({name: imported_names(name, modules[name], modules) for name in reached}, FLASK)
    assert flask_users == {}


def test_the_views_never_import_the_clinical_rules():
    """A view changes with HTTP, not with the rules: api/ reaches cards/ only through the pipeline
    (which also turns a too-large record into its 413)."""
    assert _from(_all_imports("cds_service.api"), ("cards",)) == {}


def test_the_cycle_finder_names_a_cycle_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"a"}}) == [["a", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_local_relative_and_from_imports_are_all_read(tmp_path):
    """The reader sees what the service's one former cycle hid in: an import inside a function."""
    source = tmp_path / "cds_service" / "auth" / "tokens.py"
    source.parent.mkdir(parents=True)
    source.write_text("from . import jwks\nfrom cds_service import errors as e\n"
                      "def f():\n    from cds_service.runtime import runtime\n"
                      "if TYPE_CHECKING:\n    import cds_service.store\n")
    modules = {"cds_service.auth.jwks": Path(), "cds_service.errors": Path(), "cds_service.runtime": Path()}
    assert imported_names("cds_service.auth.tokens", source, modules) == {
        "cds_service.auth.jwks", "cds_service.errors", "cds_service.runtime"}
