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
