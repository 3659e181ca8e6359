# -*- coding: utf-8 -*-
"""Runs a module's main() in-process: arguments are patched in, and
exit_json / fail_json raise ModuleExit instead of printing and exiting.

Use the ``module_exits`` fixture (conftest.py) in the test file, e.g.
``pytestmark = pytest.mark.usefixtures("module_exits")``.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class ModuleExit(Exception):
    """exit_json or fail_json was called. ``result`` is what the module
    returned (fail_json adds ``failed: true``); ``failed`` says which."""

    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


@contextlib.contextmanager
def module_args(args):
    """The module arguments AnsibleModule will read, for the duration."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old
    else:
        with patch_module_args(args):
            yield


def exit_json(self, **result):
    result.setdefault("changed", False)
    raise ModuleExit(result, False)


def fail_json(self, msg, **result):
    result.update(msg=msg, failed=True)
    raise ModuleExit(result, True)


def patch_module_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run_module(main, args):
    """Call ``main()`` with ``args``; the ModuleExit it ended with."""
    with module_args(args):
        with pytest.raises(ModuleExit) as outcome:
            main()
    return outcome.value


def module_succeeded(main, args):
    """The result of a run that must end in exit_json."""
    outcome = run_module(main, args)
    assert not outcome.failed, outcome.result
    return outcome.result


def module_failed(main, args):
    """The result of a run that must end in fail_json."""
    outcome = run_module(main, args)
    assert outcome.failed, outcome.result
    return outcome.result
