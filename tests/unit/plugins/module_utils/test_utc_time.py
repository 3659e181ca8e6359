# -*- coding: utf-8 -*-
"""UTC time in one place: every format byte for byte, since each is kept
somewhere (file names, audit records, the flag store, state files)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

NOW = 1768473045  # 2026-01-15 10:30:45 UTC
T_STEP1 = 1795861800  # 2026-11-28 10:30:00 UTC


def test_stamp():
    assert utc_time.utc_stamp(NOW) == "20260115T103045Z"
    assert utc_time.utc_stamp(NOW + 0.999) == "20260115T103045Z"  # cut, never rounded up
    assert utc_time.utc_stamp(datetime(2026, 1, 15, 10, 30, 45, tzinfo=timezone.utc)) == "20260115T103045Z"
    assert utc_time.utc_stamp(datetime(2026, 1, 15, 10, 30, 45)) == "20260115T103045Z"  # naive: UTC
    assert re.match(r"^\d{8}T\d{6}Z$", utc_time.utc_stamp())


@pytest.mark.parametrize("given", [
    T_STEP1, float(T_STEP1) + 0.5, datetime(2026, 11, 28, 10, 30, tzinfo=timezone.utc),
    datetime(2026, 11, 28, 11, 30, tzinfo=timezone(timedelta(hours=1))), datetime(2026, 11, 28, 10, 30),
    "2026-11-28T10:30:00Z", "2026-11-28T11:30:00+01:00", "2026-11-28T10:30:00", "2026-11-28 10:30:00z",
    "2026-11-28T10:30:00.999",
])
def test_iso_utc_of_every_form_a_moment_comes_in(given):
    assert utc_time.iso_utc(given) == "2026-11-28T10:30:00Z"


def test_iso_utc_of_a_date_is_its_midnight_and_default_is_now():
    assert utc_time.iso_utc("2024-12-24") == "2024-12-24T00:00:00Z"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", utc_time.iso_utc())


@pytest.mark.parametrize("given, fragment", [
    ("yesterday", "expected an ISO 8601 timestamp such as 2024-12-24T00:00:00Z, found 'yesterday'"),
    (True, "found True"),
    ([2026], "found list"),
])
def test_iso_utc_refuses_what_is_no_moment(given, fragment):
    with pytest.raises(ValueError) as err:
        utc_time.iso_utc(given)
    assert fragment in str(err.value)


def test_audit_time_round_trips():
    assert utc_time.audit_time(T_STEP1) == "2026-11-28 10:30:00"
    assert utc_time.audit_epoch("2026-11-28 10:30:00") == T_STEP1
    with pytest.raises(ValueError):
        utc_time.audit_epoch("2026-02-30 10:30:00")


def test_message_formats():
    assert utc_time.format_utc(T_STEP1) == "2026-11-28 10:30 UTC"
    assert utc_time.seconds_utc(NOW) == "2026-01-15 10:30:45 UTC"


def test_parse_iso_gives_aware_utc():
    moment = utc_time.parse_iso("2026-11-28T11:30:00+01:00")
    assert moment.tzinfo == timezone.utc and moment.timestamp() == T_STEP1


def test_openssl_dates():
    assert utc_time.seconds_utc(utc_time.parse_openssl_time("Jan 15 10:30:45 2027 GMT")) == "2027-01-15 10:30:45 UTC"
    assert utc_time.seconds_utc(utc_time.parse_openssl_time("Dec  8 05:37:27 2026 GMT")) == "2026-12-08 05:37:27 UTC"
    with pytest.raises(ValueError):
        utc_time.parse_openssl_time("2027-01-15")


# The formatting calls that make a time a text or a text a time: only
# utc_time makes them, so no second copy of a format can drift.
TIME_CALLS = re.compile(r"\b(strftime|strptime|gmtime|timegm|fromtimestamp|utcfromtimestamp|fromisoformat)\(")


def test_no_time_format_outside_utc_time():
    found = []
    for top in ("plugins/module_utils", "plugins/plugin_utils", "plugins/action", "nexusctl"):
        for folder, dummy, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                path = os.path.join(folder, name)
                if not name.endswith(".py") or path.endswith(os.path.join("module_utils", "utc_time.py")):
                    continue
                with open(path, encoding="utf-8") as handle:
                    for number, line in enumerate(handle, 1):
                        if TIME_CALLS.search(line):
                            found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), number, line.strip()))
    assert found == []


def test_clock_skew_problem_names_both_times_and_the_skew():
    ut = utc_time
    t = 1768473045
    assert ut.clock_skew_problem(t + 120, t - 2, t) is None
    assert ut.clock_skew_problem(t - 122, t - 2, t) is None
    assert ut.clock_skew_problem(t + 121, t - 2, t, max_skew=120) == (
        "the host's clock reads 2026-01-15 10:32:46 UTC and the controller's 2026-01-15 10:30:45 UTC: the host is "
        "121 s ahead, beyond the allowed skew of 120 s; sync the host's clock (timedatectl / chrony), then run again")
    assert ut.record_time_problem(t, t + 6, "seq 1 X in f").startswith(
        "the host's clock reads 2026-01-15 10:30:45 UTC, 6 s before the newest audit record (seq 1 X in f, dated ")
    assert ut.record_time_problem(t, t + 5, "seq 1 X in f") is None
