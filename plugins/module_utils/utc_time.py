# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""UTC time as the launch writes and reads it, in one place. Standard
library only: it runs on the managed host too.

Every format here is kept somewhere (file names, audit records, the flag
store, state files), so each stays byte for byte:

=============  ===========================  ==============================================
function       example                      where
=============  ===========================  ==============================================
utc_stamp      ``20260115T103045Z``         run ids, snapshot dirs, audit and script names
iso_utc        ``2026-01-15T10:30:45Z``     flag store ``updated``, state file, snapshots
audit_time     ``2026-01-15 10:30:45``      audit records (audit_epoch reads it back)
seconds_utc    ``2026-01-15 10:30:45 UTC``  messages that name a moment to the second
format_utc     ``2026-01-15 10:30 UTC``     gate refusals and status
=============  ===========================  ==============================================

A moment given as epoch seconds is cut to the second (``time.gmtime``),
never rounded up.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timezone

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
AUDIT_FORMAT = "%Y-%m-%d %H:%M:%S"

ISO_EXAMPLE = "2024-12-24T00:00:00Z"

# openssl prints dates in English whatever the locale (notAfter=Jan 15 10:30:45 2027 GMT).
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def epoch(now=None):
    """Epoch seconds of ``now``: None (the current time), epoch seconds, or
    a datetime (naive means UTC)."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.timestamp()
    return float(now)


def parse_iso(text):
    """The aware UTC datetime of an ISO 8601 time (``Z`` or an offset; no
    zone means UTC; a date alone is its midnight). Raises ValueError."""
    value = str(text).strip()
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError("expected an ISO 8601 timestamp such as %s, found %r" % (ISO_EXAMPLE, text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _gmtime(now):
    if isinstance(now, bool):
        raise ValueError("expected a datetime, epoch seconds or an ISO 8601 timestamp, found %r" % (now,))
    if isinstance(now, str):
        return parse_iso(now).timetuple()
    if now is not None and not isinstance(now, (int, float, datetime)):
        raise ValueError("expected a datetime, epoch seconds or an ISO 8601 timestamp, found %s"
                         % type(now).__name__)
    return time.gmtime(epoch(now))


def utc_stamp(now=None):
    """``20260115T103045Z``. ``now`` as for iso_utc."""
    return time.strftime(STAMP_FORMAT, _gmtime(now))


def parse_stamp(text):
    """Epoch seconds of a ``20260115T103045Z`` stamp. Raises ValueError."""
    return calendar.timegm(time.strptime(text, STAMP_FORMAT))


def iso_utc(now=None):
    """``2026-01-15T10:30:45Z``. ``now``: None (the current time), epoch
    seconds, a datetime (naive means UTC) or an ISO 8601 string. Raises
    ValueError for anything else."""
    return time.strftime(ISO_FORMAT, _gmtime(now))


def audit_time(now=None):
    """``2026-01-15 10:30:45``, UTC, as audit records hold it."""
    return time.strftime(AUDIT_FORMAT, _gmtime(now))


def audit_epoch(timestamp):
    """Epoch seconds of an audit record's ``YYYY-MM-DD HH:MM:SS`` (UTC).
    Raises ValueError when it is no such time."""
    return calendar.timegm(time.strptime(timestamp, AUDIT_FORMAT))


def seconds_utc(now=None):
    """``2026-01-15 10:30:45 UTC``: a moment in a message, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", _gmtime(now))


def format_utc(now=None):
    """``2026-01-15 10:30 UTC``: what gate refusals and status show."""
    return time.strftime("%Y-%m-%d %H:%M UTC", _gmtime(now))


def parse_openssl_time(value):
    """Epoch seconds of ``Jan 15 10:30:45 2027 GMT`` (openssl's fixed
    English format); locale-independent, unlike strptime's %b. Raises
    ValueError."""
    parts = value.split()
    if len(parts) != 5 or parts[0] not in _MONTHS or parts[4] != "GMT":
        raise ValueError("unexpected openssl date %r" % value)
    hour, minute, second = (int(p) for p in parts[2].split(":"))
    return calendar.timegm((int(parts[3]), _MONTHS[parts[0]], int(parts[1]), hour, minute, second))


# ---------------------------------------------------------------- clocks the gates can trust

# How far the host's clock may be from the controller's before gates and
# records refuse to use it; what NTP keeps a host within, with room to spare.
DEFAULT_MAX_CLOCK_SKEW = 120
# How far a record may be dated after the one before it, or after the host's
# now, before that counts as time going backwards: one-second stamps taken
# by processes that start a moment apart.
RECORD_TIME_TOLERANCE = 5

CLOCK_FIX = "sync the host's clock (timedatectl / chrony), then run again"


def span(seconds):
    """``1382400 s (16.0 days)``: a gap in a message, exact and readable."""
    seconds = abs(int(seconds))
    if seconds >= 86400:
        return "%d s (%.1f days)" % (seconds, seconds / 86400.0)
    if seconds >= 3600:
        return "%d s (%.1f h)" % (seconds, seconds / 3600.0)
    return "%d s" % seconds


def clock_skew_problem(host_now, controller_before, controller_after=None, max_skew=DEFAULT_MAX_CLOCK_SKEW):
    """None when ``host_now`` is within ``max_skew`` seconds of the
    controller's clock, else the refusal naming both times and the skew.
    The controller reads its clock before and after asking the host
    (``controller_before``, ``controller_after``): the host read its own in
    between, so the round trip never counts as skew. The host's whole
    seconds cost up to one more second."""
    if controller_after is None:
        controller_after = controller_before
    if controller_before - max_skew - 1 <= host_now <= controller_after + max_skew:
        return None
    controller = controller_after if host_now > controller_after else controller_before
    return ("the host's clock reads %s and the controller's %s: the host is %s %s, beyond the allowed skew of "
            "%s s; %s" % (seconds_utc(host_now), seconds_utc(controller), span(host_now - controller),
                          "ahead" if host_now > controller else "behind", _seconds(max_skew), CLOCK_FIX))


def record_time_problem(host_now, record_epoch, record_name, tolerance=RECORD_TIME_TOLERANCE):
    """None unless ``host_now`` is earlier than the newest record's time by
    more than ``tolerance`` seconds; then the refusal naming the record
    (``record_name``: its seq, event and file) and both times."""
    if host_now >= record_epoch - tolerance:
        return None
    return ("the host's clock reads %s, %s before the newest audit record (%s, dated %s): records would go "
            "backwards in time; %s. If the host's clock is right, that record was written by a clock that ran "
            "ahead (nexusctl audit verify lists the records out of time order)"
            % (seconds_utc(host_now), span(record_epoch - host_now), record_name, seconds_utc(record_epoch),
               CLOCK_FIX))


def _seconds(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)
