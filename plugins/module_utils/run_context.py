# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""One run on a managed host, held in one object: where the platform's
files are and where the run writes its own (``HostPaths``), and the run's
ids and settings (``RunContext``). Built once by whoever starts the run (a
module from its parameters, an on-host script from its command line) and
passed down whole, so that a function needing the run's paths and ids takes
one argument rather than a dozen.

Standard library only, and imports nothing of the collection: the on-host
scripts carry it in their snapshot's lib/.
"""

from __future__ import annotations

# How long a run's deployment lock is leased when the caller does not say.
DEFAULT_LEASE_SECONDS = 1800
DEFAULT_VERIFY_TIMEOUT = 20.0


class HostPaths(object):
    """Where a run reads and writes on the host: the flag store, the PF
    directory, the snapshots (``backup_dir``), the audit trail, the
    deployment lock, and the gateway that serves the flag store."""

    __slots__ = ("flag_store", "pf_dir", "backup_dir", "audit_dir", "lock_path", "gateway_url")

    def __init__(self, flag_store, pf_dir, backup_dir, audit_dir, lock_path, gateway_url):
        self.flag_store = flag_store
        self.pf_dir = pf_dir
        self.backup_dir = backup_dir
        self.audit_dir = audit_dir
        self.lock_path = lock_path
        self.gateway_url = gateway_url

    def __repr__(self):
        return "HostPaths(%s)" % ", ".join("%s=%r" % (name, getattr(self, name)) for name in self.__slots__)


class RunContext(object):
    """One run: its ``paths`` (HostPaths), ``run_id`` and ``stamp`` (the
    run id's first 16 characters unless given: it names the run's snapshot,
    chain file and scripts), the ``host`` it runs on, the lock ``holder``
    fields, how long to wait for the gateway (``verify_timeout``, seconds),
    the lock's lease, and ``via`` (what started it: ansible, script)."""

    def __init__(self, paths, run_id, stamp=None, host=None, holder=None, verify_timeout=DEFAULT_VERIFY_TIMEOUT,
                 lease_seconds=DEFAULT_LEASE_SECONDS, via="ansible"):
        if not isinstance(paths, HostPaths):
            raise TypeError("paths: expected a HostPaths, found %s" % type(paths).__name__)
        if not run_id or not isinstance(run_id, str):
            raise ValueError("run_id: expected the run's id (text), found %r" % (run_id,))
        self.paths = paths
        self.run_id = run_id
        self.stamp = stamp or run_id[:16]
        self.host = host
        self.holder = dict(holder or {}, run_id=run_id)
        self.verify_timeout = verify_timeout
        self.lease_seconds = lease_seconds
        self.via = via

    def __repr__(self):
        return "RunContext(run_id=%r, stamp=%r, host=%r, via=%r, paths=%r)" % (
            self.run_id, self.stamp, self.host, self.via, self.paths)
