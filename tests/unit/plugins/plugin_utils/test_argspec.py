# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""An action's argument spec comes from its module's documentation, doc
fragments included, with the secret options no_log."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import run_audit
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import argspec


def test_the_spec_is_the_documented_options_with_the_fragments():
    spec = argspec.argument_spec("launch_guard", secret=("channels",))
    assert spec["on_critical"] == {"type": "str", "default": "switch", "choices": ["switch", "alert"]}
    assert spec["url"] == {"type": "str", "required": True}
    assert spec["channels"] == {"type": "list", "elements": "dict", "default": [], "no_log": True}
    # The host paths come from doc fragment host_paths, as the module's shared spec says them.
    for name, option in run_audit.HOST_PATHS_ARGUMENT_SPEC.items():
        assert spec[name] == option, name


def test_activation_gate_takes_the_host_paths_and_the_audit_events():
    spec = argspec.argument_spec("activation_gate", secret=("approvals",))
    assert set(run_audit.HOST_PATHS_ARGUMENT_SPEC) | set(run_audit.AUDIT_ARGUMENT_SPEC) <= set(spec)
    assert spec["approvals"]["no_log"] is True
    assert spec["kind"]["choices"] == ["marketplace", "launch"]


def test_a_secret_that_is_not_documented_is_refused_by_name():
    with pytest.raises(argspec.ArgumentSpecError, match="launch_guard: secret option.s. tokens are not documented"):
        argspec.argument_spec("launch_guard", secret=("tokens",))


def test_suboptions_become_nested_options():
    assert argspec._spec({"a": {"type": "dict", "suboptions": {"b": {"type": "int", "default": 1, "description": "x"}}}}) == {
        "a": {"type": "dict", "options": {"b": {"type": "int", "default": 1}}}}
