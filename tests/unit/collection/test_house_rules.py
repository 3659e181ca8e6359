# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The house rules of the code under plugins/ and nexusctl/ that a reader
cannot see in one file: how modules import each other and how wide a
function's signature may be (ARCHITECTURE.md, "Layers and imports").

The import graph is read with ast, not by importing: every import of the
collection's own code (``ansible_collections.nexus_cos.launch.*`` or
relative), wherever it stands. It must have no cycle, no such import inside
a function (that is how a cycle hides), and no import upward by AREAS and
MODULE_UTILS_LAYERS below, the one written form of the layering rule.
Third-party imports (ansible, ansible_runner) may stand in functions, for
start-up time, and are not part of the graph.
"""

from __future__ import annotations

import ast
import os
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PREFIX = "ansible_collections.nexus_cos.launch."
TOPS = ("plugins", "nexusctl")
MAX_PARAMETERS = 8

# Which areas each area may import (an area is a folder under plugins/, or
# nexusctl): host code imports host code only, the controller's plugins
# import host code and their helpers, nexusctl anything.
AREAS = {
    "plugins.module_utils": ("plugins.module_utils",),
    "plugins.modules": ("plugins.module_utils",),
    "plugins.doc_fragments": (),
    "plugins.plugin_utils": ("plugins.module_utils", "plugins.plugin_utils"),
    "plugins.action": ("plugins.module_utils", "plugins.plugin_utils"),
    "plugins.callback": ("plugins.module_utils", "plugins.plugin_utils"),
    "nexusctl": ("plugins.module_utils", "plugins.modules", "plugins.plugin_utils", "plugins.action", "plugins.callback",
                 "nexusctl"),
}

# Inside module_utils, the layers from the bottom: a module imports its own
# layer or lower ones. A name stands for the module and, for a package,
# every module in it. A new module_utils file goes in one of them.
MODULE_UTILS_LAYERS = (
    ("base helpers", ("atomic_file", "utc_time", "documents", "flag_semantics", "trusted_path", "numbers",
                      "run_context", "operator_hints")),
    ("records, stores and the gateway", ("audit_log", "deploy_lock", "run_audit", "file_change", "flag_store",
                                         "pf_document", "nexus_config", "gateway", "host_scripts")),
    ("the snapshot format", ("snapshot",)),
    ("the restore", ("restore",)),
    ("activation and checks", ("activation", "checks")),
    ("entry points and what joins them", ("restore_ledger", "rollback_cli")),
)


# ---------------------------------------------------------------- the checker

def python_files(root):
    """{dotted name under the collection: path} of every .py under TOPS."""
    out = {}
    for top in TOPS:
        for folder, dirs, names in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                    out[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return out


def _imported(node, name, is_package, modules):
    """The collection modules an import node names, from module ``name``."""
    if isinstance(node, ast.Import):
        targets = [alias.name[len(PREFIX):] for alias in node.names if alias.name.startswith(PREFIX)]
        return [t for t in targets if t in modules]
    if node.level:
        parts = name.split(".") if is_package else name.split(".")[:-1]
        parts = parts[:len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    elif node.module and node.module.startswith(PREFIX):
        base = node.module[len(PREFIX):]
    else:
        return []
    out = []
    for alias in node.names:
        if base + "." + alias.name in modules:
            out.append(base + "." + alias.name)
        elif base in modules:
            out.append(base)
    return out


class _Imports(ast.NodeVisitor):
    def __init__(self, name, is_package, modules):
        self.name, self.is_package, self.modules = name, is_package, modules
        self.edges = []       # (target, line, inside a function)
        self.depth = 0

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _import(self, node):
        for target in _imported(node, self.name, self.is_package, self.modules):
            self.edges.append((target, node.lineno, self.depth > 0))

    visit_Import = visit_ImportFrom = _import


def import_graph(root):
    """(modules, {module: [(target, line, in_function)]})."""
    modules = python_files(root)
    graph = {}
    for name, path in modules.items():
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        visitor = _Imports(name, path.endswith("__init__.py"), modules)
        visitor.visit(tree)
        graph[name] = [edge for edge in visitor.edges if edge[0] != name]
    return modules, graph


def cycles(graph):
    """One cycle of each strongly connected group, as 'a -> b -> a'."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target, dummy, dummy in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(_one_cycle(graph, set(group)))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def _one_cycle(graph, group):
    """A shortest way round from the group's first member back to it."""
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for target in sorted(t for t, dummy, dummy in graph.get(node, ()) if t in group):
            if target == start:
                return " -> ".join(paths[node] + [start])
            if target not in paths:
                paths[target] = paths[node] + [target]
                todo.append(target)
    return " -> ".join(sorted(group))


def function_imports(modules, graph):
    return ["%s:%d: imports %s inside a function; import it at the top of the module (a cycle it would cause "
            "is to be cut, not hidden)" % (_relpath(modules[name]), line, target)
            for name in sorted(graph) for target, line, inside in graph[name] if inside]


def _area(name):
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "plugins" else parts[0]


def _layer(name, layers):
    short = name[len("plugins.module_utils."):]
    for rank, (title, members) in enumerate(layers):
        for member in members:
            if short == member or short.startswith(member + "."):
                return rank, title
    return None, None


def upward_imports(modules, graph, areas=None, layers=None):
    areas = AREAS if areas is None else areas
    layers = MODULE_UTILS_LAYERS if layers is None else layers
    out = []
    for name in sorted(graph):
        area = _area(name)
        if (name == "plugins" or name in areas) and not graph[name]:
            continue    # a package's empty __init__.py
        if area not in areas:
            out.append("%s: area %s is in no row of AREAS; say what it may import" % (_relpath(modules[name]), area))
            continue
        rank, title = _layer(name, layers) if area == "plugins.module_utils" else (None, None)
        if area == "plugins.module_utils" and rank is None:
            out.append("%s: module_utils module %s is in no layer of MODULE_UTILS_LAYERS; put it in one"
                       % (_relpath(modules[name]), name))
            continue
        for target, line, dummy in graph[name]:
            target_area = _area(target)
            if target_area not in areas[area]:
                out.append("%s:%d: %s imports %s, but %s may import only %s" % (
                    _relpath(modules[name]), line, name, target, area, ", ".join(areas[area]) or "nothing"))
            elif area == target_area == "plugins.module_utils":
                target_rank, target_title = _layer(target, layers)
                if target_rank is not None and target_rank > rank:
                    out.append("%s:%d: %s (%s) imports %s (%s), a higher layer" % (
                        _relpath(modules[name]), line, name, title, target, target_title))
    return out


def wide_functions(modules, limit=MAX_PARAMETERS):
    """'file:line: name takes N parameters' for every function over ``limit``
    (self and cls not counted; *args and **kwargs counted)."""
    out = []
    for name in sorted(modules):
        path = modules[name]
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args]
            if names and names[0] in ("self", "cls"):
                names = names[1:]
            names += [a.arg for a in args.kwonlyargs]
            names += ["*" + args.vararg.arg] if args.vararg else []
            names += ["**" + args.kwarg.arg] if args.kwarg else []
            if len(names) > limit:
                out.append("%s:%d: %s() takes %d parameters (%s); at most %d: pass a context object" % (
                    _relpath(path), node.lineno, node.name, len(names), ", ".join(names), limit))
    return out


def _relpath(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


# ---------------------------------------------------------------- the rules

@pytest.fixture(scope="module")
def collection():
    return import_graph(ROOT)


def test_the_import_graph_has_no_cycle(collection):
    dummy, graph = collection
    found = cycles(graph)
    assert not found, "import cycles:\n  " + "\n  ".join(found)


def test_no_collection_import_stands_inside_a_function(collection):
    found = function_imports(*collection)
    assert not found, "\n".join(found)


def test_no_module_imports_upward(collection):
    found = upward_imports(*collection)
    assert not found, "\n".join(found)


def test_no_function_takes_more_than_eight_parameters():
    found = wide_functions(python_files(ROOT))
    assert not found, "\n".join(found)


def test_every_layer_names_a_module_that_exists(collection):
    """A stale row would make the rule say less than it seems to."""
    modules, dummy = collection
    utils = [name[len("plugins.module_utils."):] for name in modules if name.startswith("plugins.module_utils.")]
    stale = [member for dummy, members in MODULE_UTILS_LAYERS for member in members if member not in utils]
    assert not stale, stale


# ---------------------------------------------------------------- the checker itself

def _tree(tmp_path, files):
    for relpath, text in files.items():
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path)


FAKE = {
    "plugins/__init__.py": "",
    "plugins/module_utils/__init__.py": "",
    "plugins/module_utils/low.py": """\
        from ansible_collections.nexus_cos.launch.plugins.module_utils import high
        from ansible_collections.nexus_cos.launch.plugins.plugin_utils import helper
        import json
        """,
    "plugins/module_utils/high.py": """\
        from . import low


        def late():
            from ansible_collections.nexus_cos.launch.plugins.module_utils import low as again
            import ansible.module_utils.basic
            return again


        class Thing(object):
            def method(self, a, b, c, d, e, f, g, h):
                return a


        def wide(a, b, c, d, e, f, g, *rest, **options):
            return a
        """,
    "plugins/module_utils/stray.py": "",
    "plugins/plugin_utils/__init__.py": "",
    "plugins/plugin_utils/helper.py": "from ansible_collections.nexus_cos.launch.plugins.module_utils import low\n",
    "nexusctl/__init__.py": "",
    "nexusctl/cli.py": "from ansible_collections.nexus_cos.launch.plugins.module_utils import high\n",
}
FAKE_LAYERS = (("bottom", ("low",)), ("top", ("high",)))


def test_the_checker_names_a_cycle(tmp_path):
    dummy, graph = import_graph(_tree(tmp_path, FAKE))
    assert cycles(graph) == ["plugins.module_utils.high -> plugins.module_utils.low -> plugins.module_utils.high"]


def test_the_checker_names_a_three_module_cycle(tmp_path):
    files = dict(FAKE)
    files["plugins/module_utils/high.py"] = ""
    files["plugins/module_utils/low.py"] = "from ansible_collections.nexus_cos.launch.plugins.module_utils import stray\n"
    files["plugins/module_utils/stray.py"] = "from ansible_collections.nexus_cos.launch.plugins.module_utils.high import x\n"
    files["plugins/module_utils/high.py"] = "from .low import y\n"
    dummy, graph = import_graph(_tree(tmp_path, files))
    assert cycles(graph) == ["plugins.module_utils.high -> plugins.module_utils.low -> plugins.module_utils.stray "
                             "-> plugins.module_utils.high"]


def test_the_checker_names_an_import_inside_a_function_with_its_line(tmp_path):
    modules, graph = import_graph(_tree(tmp_path, FAKE))
    found = function_imports(modules, graph)
    assert len(found) == 1, found
    assert found[0].startswith(os.path.join(str(tmp_path), "plugins", "module_utils", "high.py")
                               + ":5: imports plugins.module_utils.low inside a function")


def test_the_checker_names_upward_imports_by_area_and_by_layer(tmp_path):
    modules, graph = import_graph(_tree(tmp_path, FAKE))
    found = [line.replace(str(tmp_path) + os.sep, "") for line in upward_imports(modules, graph, layers=FAKE_LAYERS)]
    assert found == [
        "plugins/module_utils/low.py:1: plugins.module_utils.low (bottom) imports plugins.module_utils.high (top), "
        "a higher layer",
        "plugins/module_utils/low.py:2: plugins.module_utils.low imports plugins.plugin_utils.helper, but "
        "plugins.module_utils may import only plugins.module_utils",
        "plugins/module_utils/stray.py: module_utils module plugins.module_utils.stray is in no layer of "
        "MODULE_UTILS_LAYERS; put it in one",
    ]


def test_the_checker_names_a_function_over_eight_parameters(tmp_path):
    found = [line.replace(str(tmp_path) + os.sep, "") for line in wide_functions(python_files(_tree(tmp_path, FAKE)))]
    assert found == ["plugins/module_utils/high.py:15: wide() takes 9 parameters (a, b, c, d, e, f, g, *rest, "
                     "**options); at most 8: pass a context object"]
