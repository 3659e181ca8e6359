"""The clocks the gates read (module_utils/activation/clock.py): the test
clock given to a run, and where it is honoured."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ActivationError
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import clock

T0 = 1795862400            # 2026-11-28 10:40:00 UTC


@pytest.mark.parametrize("value, expected", [
    (T0, T0),
    (float(T0) + 0.5, T0 + 0.5),
    (str(T0), T0),
    ("2026-11-28T10:40:00Z", T0),
    ("2026-11-28T10:40:00+00:00", T0),
    ("2026-11-28T11:40:00+01:00", T0),
    ("2026-11-28T10:40:00", T0),            # no zone: UTC
    ("2026-11-28 10:40:00z", T0),
])
def test_clock_accepts_epoch_and_iso(value, expected):
    assert clock.parse_clock(value) == expected


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_clock_means_no_override(value):
    assert clock.parse_clock(value) is None


@pytest.mark.parametrize("value, fragment", [
    (True, "expected epoch seconds"),
    ("next tuesday", "is not epoch seconds or an ISO 8601 time"),
    (T0 * 1000, "milliseconds"),
    ("12", "not a plausible time"),
])
def test_bad_clock_names_the_variable(value, fragment):
    with pytest.raises(ActivationError) as exc:
        clock.parse_clock(value)
    assert str(exc.value).startswith("nexus_clock_now: ")


@pytest.mark.parametrize("environment", ["sandbox", "test"])
def test_the_test_clock_is_honoured_on_test_beds(environment):
    clock.check_test_clock(1795861800.0, environment)
    clock.check_test_clock(None, "production")   # no clock given: nothing to refuse


@pytest.mark.parametrize("environment", ["production", "staging", None, ""])
def test_the_test_clock_is_refused_elsewhere_naming_the_way_out(environment):
    with pytest.raises(ActivationError) as info:
        clock.check_test_clock(1795861800.0, environment)
    assert str(info.value).startswith("nexus_clock_now is a test clock and this inventory is nexus_environment=%s"
                                      % (environment or "unset"))
    assert "-e activation_force_reason=TEXT" in str(info.value)
