# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The unit suite runs under pytest and under ansible-test units, which
imports every test module by its collection name and may run them in worker
processes: so no test file puts a folder on sys.path, and none imports a
helper or another test module by a bare name. Shared helpers live in
tests/unit/utils/ and are imported as
ansible_collections.nexus_cos.launch.tests.unit.utils.NAME."""

from __future__ import annotations

import ast
import os

from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

UNIT = os.path.join(ROOT, "tests", "unit")
UTILS = "ansible_collections.nexus_cos.launch.tests.unit.utils"


def python_files(top):
    for base, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(base, name)


def local_names(top):
    """Names a bare import would find among the suite's own files."""
    return {name[:-3] for path in python_files(top) for name in [os.path.basename(path)]}


def findings(path, local):
    """`file:line: what` for each bare import of a file of the suite and
    each change of sys.path (insert, append, extend, assignment)."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    where = os.path.relpath(path, ROOT)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "%s:%d: relative import (import from %s instead)" % (where, node.lineno, UTILS)))
        for name in names:
            top = name.split(".")[0]
            if top in local and top.startswith(("test_", "conftest")):
                found.append((node.lineno, "%s:%d: import of test module %s (move what it shares to tests/unit/utils/ or a "
                                           "conftest.py fixture)" % (where, node.lineno, name)))
            elif top in local:
                found.append((node.lineno, "%s:%d: bare import of %s (import it as %s.%s, from tests/unit/utils/)"
                              % (where, node.lineno, name, UTILS, top)))
        if isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name) \
                and node.value.id == "sys":
            parent_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                            and n.func.value is node and n.func.attr in ("insert", "append", "extend")]
            for call in parent_calls:
                found.append((call.lineno, "%s:%d: sys.path.%s (tests import through the collection path)"
                              % (where, call.lineno, call.func.attr)))
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "path" and isinstance(target.value, ast.Name) \
                        and target.value.id == "sys":
                    found.append((node.lineno, "%s:%d: assignment to sys.path (tests import through the collection path)"
                                  % (where, node.lineno)))
    return [text for _line, text in sorted(found)]


def test_no_test_file_imports_by_bare_name_or_changes_sys_path():
    local = local_names(UNIT)
    problems = [problem for path in python_files(UNIT) for problem in findings(path, local)]
    assert problems == []


def test_the_guard_finds_a_bare_import_and_a_sys_path_change(tmp_path):
    """The guard can fail: each way in is named with its file and line."""
    bad = tmp_path / "test_bad.py"
    bad.write_text("import sys\nimport fake_host\nfrom test_snapshot import Host\nsys.path.insert(0, '.')\n"
                   "sys.path += ['x']\nfrom . import repo_paths\n")
    problems = [p.split(": ", 1)[1] for p in findings(str(bad), {"fake_host", "test_snapshot", "repo_paths"})]
    assert problems == [
        "bare import of fake_host (import it as %s.fake_host, from tests/unit/utils/)" % UTILS,
        "import of test module test_snapshot (move what it shares to tests/unit/utils/ or a conftest.py fixture)",
        "sys.path.insert (tests import through the collection path)",
        "assignment to sys.path (tests import through the collection path)",
        "relative import (import from %s instead)" % UTILS,
    ]


def test_the_collection_path_import_is_allowed(tmp_path):
    good = tmp_path / "test_good.py"
    good.write_text("from %s.fake_host import FakeHost\nfrom %s import repo_paths\n" % (UTILS, UTILS))
    assert findings(str(good), {"fake_host", "repo_paths"}) == []
