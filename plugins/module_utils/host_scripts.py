# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The two scripts every run leaves on the host, for the hour the
controller cannot reach it (losing the controller's link is how the
platform's last launch attempt ended):

* ``nexus-rollback-<stamp>.sh`` restores what that run snapshotted;
* ``nexus-emergency-<stamp>.sh`` pulls the kill switch (public signups off,
  new transactions frozen, founder mode) from whatever state things are in.

(Names from audit_log.script_name: the platform's own deploy script leaves
``rollback-YYYYmmdd-HHMMSS.sh`` in the same directory.)

Both need only bash and python3: they run the collection's own code from the
run's snapshot (``<backup dir>/<stamp>/lib``), so what runs is what was there
when the snapshot was taken. Before importing any of it they check, with
``python3 -I`` and code carried in the script itself (trusted_path), that
root alone controls the script, the snapshot and every file of its lib/,
and that each file has the hash the snapshot recorded. Rendered here, on the
host, by the modules that write them (snapshot, kill_switch), so both are
rendered one way.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
from string import Template

# trusted_path is imported by name so that Ansible ships it with any module that renders the scripts.
from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, trusted_path

PACKAGE = "ansible_collections.nexus_cos.launch.plugins.module_utils"
VERIFIER_MODULE = trusted_path.__name__
# The snapshot's lib/ goes first on the path of an isolated interpreter (no
# PYTHONPATH, no user site, no current directory), then the module runs as
# python3 -m would run it.
RUN_MODULE = ("import runpy, sys; sys.argv.pop(0); sys.path.insert(0, sys.argv.pop(0)); "
              "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")

_COMMON = r'''
args=()
for arg in "$$@"; do
    case "$$arg" in
        $options) args+=("$$arg") ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$${0##*/}: unknown argument '$$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

if [ "$$(id -u)" -ne 0 ]; then
    echo "$${0##*/}: must run as root (it rewrites root-owned files): sudo $$0 $$*" >&2
    exit 2
fi
python=$$(command -v python3 || true)
if [ -z "$$python" ]; then
    echo "$${0##*/}: python3 not found; this script needs python3 (apt-get install python3)" >&2
    exit 1
fi
if [ ! -f "$$snapshot_dir/snapshot.json" ] || [ ! -d "$$snapshot_dir/lib" ]; then
    echo "$${0##*/}: snapshot $$snapshot_dir is missing or incomplete (no snapshot.json or lib/)" >&2
    exit 1
fi

# The snapshot carries its own copy of the code: what runs is what was
# there when the snapshot was taken, whatever has changed since. Nothing of
# it runs unless root alone controls it and it is what was recorded; the
# check is this script's own code, run isolated (python3 -I).
if ! "$$python" -I -B - "$$snapshot_dir" "$${BASH_SOURCE[0]}" <<'NEXUS_VERIFY_SNAPSHOT'
$verifier
NEXUS_VERIFY_SNAPSHOT
then
    exit 1
fi
'''

ROLLBACK = Template(r'''#!/bin/bash
$marker
# Nexus COS rollback to the snapshot run $run_id took on
# $host before it changed anything.
#
# Restores the flag store and PF files exactly as they were, reloads the
# gateway and checks that it serves the snapshot's state. Runs on this host
# with bash and python3 only: no controller, no Ansible. Rules, layout and
# timings: docs/rollback.md of the nexus_cos.launch collection.
set -euo pipefail
umask 027

snapshot_dir=$q_snapshot_dir
gateway_url=$q_gateway_url
audit_dir=$q_audit_dir
lock_path=$q_lock_path
verify_timeout=$verify_timeout
run_module=$q_run_module

usage() {
    cat <<USAGE
usage: sudo $$0 [--force] [--dry-run]

Restores snapshot $$snapshot_dir
(run $run_id), then reloads the gateway at $$gateway_url and
waits up to $$verify_timeout s for it to serve the snapshot's access mode
and marketplace phase. Holds the deployment lock $$lock_path
meanwhile (a lock whose run is gone is taken over, and that is audited);
audit records go to $$audit_dir/rollback-<now>.log.

  --force    restore even files someone else changed since the snapshot
             (what is there now is kept under $$snapshot_dir/displaced/)
  --dry-run  say what would be restored; change nothing
  -h         this help

Refused (exit 1): a file changed since the snapshot by someone other than
that run (unless --force); a backup copy that no longer matches its hash;
the deployment lock held by a deployment that is still running.
Exit status: 0 restored or nothing to do, 1 refused or not verified, 2 usage.
USAGE
}
$common
exec "$$python" -I -B -c "$$run_module" "$$snapshot_dir/lib" $package.rollback_cli restore \
    --snapshot "$$snapshot_dir" \
    --gateway-url "$$gateway_url" \
    --verify-timeout "$$verify_timeout" \
    --audit-dir "$$audit_dir" \
    --lock "$$lock_path" \
    "$${args[@]}"
''')

EMERGENCY = Template(r'''#!/bin/bash
$marker
# Nexus COS emergency switch, on this host, with no controller: public
# signups off, new transactions frozen, founder mode, whatever the state.
# Rendered by run $run_id on $host; it runs the code that
# run carried, from its snapshot.
#
# Snapshots the files first (so the switch itself can be rolled back), takes
# the deployment lock (a lock held by another run is broken and that is
# audited, unless --keep-lock), writes the flags in one atomic write and the
# PF values, reloads the gateway and waits until it serves founder mode.
# The switch is never undone automatically: if the gateway does not confirm
# it, it stays applied and this says what it wrote and what the gateway
# served. Running it again changes nothing and checks again.
set -euo pipefail
umask 027

snapshot_dir=$q_snapshot_dir
flag_store=$q_flag_store
pf_dir=$q_pf_dir
backup_dir=$q_backup_dir
gateway_url=$q_gateway_url
audit_dir=$q_audit_dir
lock_path=$q_lock_path
verify_timeout=$verify_timeout
run_module=$q_run_module

usage() {
    cat <<USAGE
usage: sudo $$0 [--reason TEXT] [--keep-lock] [--dry-run]

Pulls the kill switch on $$flag_store and the PF files in $$pf_dir,
then reloads the gateway at $$gateway_url and waits up to $$verify_timeout s
for it to serve founder mode. Audit records go to
$$audit_dir/activation-<now>.log; the snapshot taken first goes to
$$backup_dir/<now>/ with its own rollback script.

  --reason TEXT  why the switch is pulled (audited)
  --keep-lock    stop if another run holds the deployment lock instead of
                 breaking it
  --dry-run      say what would change; change nothing
  -h             this help

Exit status: 0 the gateway serves founder mode; 1 the switch could not be
applied, or it is applied but the gateway did not confirm it (it stays
applied: the message says what to check); 2 usage.
USAGE
}

reason=""
rest=()
while [ $$# -gt 0 ]; do
    case "$$1" in
        --reason) [ $$# -ge 2 ] || { echo "$${0##*/}: --reason needs a text" >&2; exit 2; }
                  reason=$$2; shift 2 ;;
        --reason=*) reason=$${1#--reason=}; shift ;;
        *) rest+=("$$1"); shift ;;
    esac
done
set -- "$${rest[@]+"$${rest[@]}"}"
$common
exec "$$python" -I -B -c "$$run_module" "$$snapshot_dir/lib" $package.activation.emergency pull \
    --flag-store "$$flag_store" \
    --pf-dir "$$pf_dir" \
    --backup-dir "$$backup_dir" \
    --gateway-url "$$gateway_url" \
    --verify-timeout "$$verify_timeout" \
    --audit-dir "$$audit_dir" \
    --lock "$$lock_path" \
    --reason "$$reason" \
    "$${args[@]}"
''')


def verifier_source():
    """The program the scripts run before anything of the snapshot: the
    source of trusted_path (wherever this code runs from: a checkout, the
    zip of a module, a snapshot's lib/) and a call of its script_main."""
    spec = importlib.util.find_spec(VERIFIER_MODULE)
    source = spec.loader.get_source(VERIFIER_MODULE) if spec is not None and spec.loader is not None else None
    if isinstance(source, bytes):  # Ansible's collection loader gives bytes, a zipimporter text
        source = source.decode("utf-8")
    if not source:
        raise RuntimeError("the on-host scripts cannot be rendered: no source for %s where this code runs"
                           % VERIFIER_MODULE)
    return source.rstrip("\n") + "\n\n\nimport sys  # noqa: E402\nsys.exit(script_main(sys.argv[1:]))"


def _render(template, options, run_id, host, verify_timeout, **paths):
    values = dict(("q_" + key, shlex.quote(str(value))) for key, value in paths.items())
    values.update(run_id=run_id, host=host, verify_timeout=int(verify_timeout), package=PACKAGE,
                  marker=audit_log.script_marker(run_id), q_run_module=shlex.quote(RUN_MODULE))
    values["common"] = Template(_COMMON).substitute(options=options, verifier=verifier_source())
    return template.substitute(values)


def script_path(audit_dir, kind, stamp):
    """Where the run stamped ``stamp`` leaves its ``kind`` script."""
    return os.path.join(audit_dir, audit_log.script_name(kind, stamp))


def rollback_script(snapshot_dir, run_id, host, gateway_url, audit_dir, lock_path, verify_timeout):
    """The text of ``nexus-rollback-<stamp>.sh`` for a snapshot."""
    return _render(ROLLBACK, "--force|--dry-run", run_id, host, verify_timeout, snapshot_dir=snapshot_dir,
                   gateway_url=gateway_url, audit_dir=audit_dir, lock_path=lock_path)


def emergency_script(run, snapshot_dir):
    """The text of ``nexus-emergency-<stamp>.sh`` of ``run`` (a
    run_context.RunContext: its paths, id, host and gateway wait): runs the
    kill switch with the code of the snapshot in ``snapshot_dir``."""
    paths = run.paths
    return _render(EMERGENCY, "--keep-lock|--dry-run", run.run_id, run.host, run.verify_timeout,
                   snapshot_dir=snapshot_dir, flag_store=paths.flag_store, pf_dir=paths.pf_dir,
                   backup_dir=paths.backup_dir, gateway_url=paths.gateway_url, audit_dir=paths.audit_dir,
                   lock_path=paths.lock_path)
