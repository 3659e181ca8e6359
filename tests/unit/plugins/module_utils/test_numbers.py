# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""numbers.finite_number: inf, nan and out-of-range values are refused,
named; and the modules that take seconds use it."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import finite_number
from ansible_collections.nexus_cos.launch.plugins.modules import gateway_verify, kill_switch

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed


@pytest.mark.parametrize("value, shown", [("inf", "inf"), (float("nan"), "nan"), ("-inf", "-inf"), ("1e999", "1e999"),
                                          (0, "0"), (-2.5, "-2.5"), ("soon", "'soon'"), (True, "True"),
                                          (None, "None")])
def test_refused_naming_the_value(value, shown):
    with pytest.raises(ValueError) as exc:
        finite_number(value, "--minutes", "minutes", above=0)
    assert str(exc.value) == "--minutes: expected a finite number of minutes > 0, got %s" % shown


def test_accepted():
    assert finite_number(" 2.5 ", "x", above=0) == 2.5
    assert finite_number(0, "x", "seconds", minimum=0) == 0.0
    with pytest.raises(ValueError, match=r"^x: expected a finite number of seconds >= 0, got -1$"):
        finite_number(-1, "x", "seconds", minimum=0)


@pytest.mark.usefixtures("module_exits")
@pytest.mark.parametrize("key", ["timeout", "interval", "request_timeout"])
def test_gateway_verify_refuses_infinite_seconds(key):
    result = module_failed(gateway_verify.main, {"url": "http://127.0.0.1:9", key: "inf"})
    assert result["msg"].startswith("%s: expected a finite number of seconds" % key) and "got inf" in result["msg"]


@pytest.mark.usefixtures("module_exits")
def test_kill_switch_refuses_a_nan_verify_timeout(tmp_path):
    args = dict((k, str(tmp_path / k)) for k in ("flag_store", "pf_dir", "audit_dir", "backup_dir", "lock_path"))
    args.update(gateway_url="http://127.0.0.1:9", run_id="20260115T103045Z-aaaaaa", verify_timeout="nan")
    assert module_failed(kill_switch.main, args)["msg"] == (
        "verify_timeout: expected a finite number of seconds >= 0, got nan")
