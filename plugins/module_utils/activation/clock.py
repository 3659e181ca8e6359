# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The clocks the gates read: a test clock given to a run
(``nexus_clock_now``, honoured only on a test bed) and the host's clock,
held to the controller's and to the newest record of the trail."""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ActivationError
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import parse_iso


def parse_clock(value, name="nexus_clock_now"):
    """Epoch seconds from ``value``: epoch seconds (int, float or digits) or
    an ISO 8601 time (Z or an offset; a time without zone is UTC). None or
    an empty string means no override and returns None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ActivationError("%s: expected epoch seconds or an ISO 8601 UTC time such as 2026-11-28T10:30:00Z, "
                              "found %r" % (name, value))
    if isinstance(value, (int, float)):
        epoch = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if re.match(r"^-?\d+(\.\d+)?$", text):
            epoch = float(text)
        else:
            try:
                epoch = parse_iso(text).timestamp()
            except ValueError:
                raise ActivationError("%s: %r is not epoch seconds or an ISO 8601 time; expected e.g. "
                                      "2026-11-28T10:30:00Z or 1795862400" % (name, text))
    # 2001..2200: catches milliseconds given as seconds and other slips.
    if not 978307200 <= epoch <= 7258118400:
        raise ActivationError("%s: %r is not a plausible time (expected epoch seconds between 2001 and 2200; "
                              "milliseconds?)" % (name, value))
    return epoch


TEST_CLOCK_ENVIRONMENTS = ("sandbox", "test")


def check_test_clock(clock, environment):
    """The test clock moves the 7-day gates: honoured only where the
    inventory says it is a sandbox or test environment. Raises
    ActivationError naming the variables otherwise."""
    if clock is None:
        return
    if environment not in TEST_CLOCK_ENVIRONMENTS:
        raise ActivationError(
            "nexus_clock_now is a test clock and this inventory is nexus_environment=%s: it is honoured only where "
            "the inventory sets nexus_environment to %s. To open a refused gate for real, give the reason: "
            "%s, which is audited"
            % (environment or "unset", " or ".join(TEST_CLOCK_ENVIRONMENTS), operator_hints.hint("force", operator_hints.driver())))


def check_host_clock(facts):
    """(hard refusal or None, forceable refusal or None) about the host's
    clock in ``facts``: the gates and the records they write use it only
    when it agrees with the controller's (``controller_clock``: {before,
    after, max_skew}, filled in by the action plugin) and is not earlier
    than the newest record in the trail (``newest_record``). A test clock
    does not exempt it: the records still carry the host's time."""
    host_now = facts.get("now")
    if host_now is None:
        return None, None
    hard = None
    controller = facts.get("controller_clock")
    if controller:
        hard = utc_time.clock_skew_problem(host_now, controller["before"], controller["after"],
                                           controller.get("max_skew", utc_time.DEFAULT_MAX_CLOCK_SKEW))
    soft = None
    newest = facts.get("newest_record")
    if hard is None and newest:
        # Forceable: with the host's clock agreeing with the controller's,
        # the record was dated by a clock that ran ahead, and waiting for
        # that date is not the only way on.
        soft = utc_time.record_time_problem(host_now, newest["time"], "seq %s %s in %s" % (
            newest.get("seq"), newest.get("event"), newest.get("file")))
    return hard, soft
