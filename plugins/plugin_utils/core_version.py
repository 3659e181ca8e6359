# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Which ansible-core runs the collection. The lowest supported version is
meta/runtime.yml's requires_ansible, the one place it is written; below it
Ansible itself only warns, so the action every play runs first
(nexus_cos.launch.pinned_vars, in role launch_context) stops the run here.

NEWEST_TESTED is the newest minor release make compat runs
(tests/compat/requirements-<minor>.txt); a newer one runs, with a warning.
ansible-core 2.20 and later need Python 3.12, which Debian bookworm does not
package: make compat takes it from the requirements file's '# python:' line
(pyenv's interpreter on the build machines)."""

from __future__ import annotations

import os
import re

import yaml

RUNTIME_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "meta", "runtime.yml")
NEWEST_TESTED = "2.21"
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


def parse(version):
    """(major, minor, patch) of a version string such as '2.16.19',
    '2.20.0rc1' or '2.21.0.dev0' (a pre-release counts as its release)."""
    match = _VERSION.match(str(version))
    if not match:
        raise ValueError("%r is not an ansible-core version (expected MAJOR.MINOR[.PATCH])" % (version,))
    return tuple(int(part or 0) for part in match.groups())


def lowest_supported(path=RUNTIME_FILE):
    """The version of the single '>=' bound of requires_ansible in ``path``
    (meta/runtime.yml); ValueError naming the file and key otherwise."""
    with open(path) as handle:
        requires = (yaml.safe_load(handle) or {}).get("requires_ansible")
    if not isinstance(requires, str):
        raise ValueError("%s: requires_ansible must be a version specifier such as '>=2.16.0' (found %r)" % (path, requires))
    lowest = [part.strip()[2:].strip() for part in requires.split(",") if part.strip().startswith(">=")]
    if len(lowest) != 1:
        raise ValueError("%s: requires_ansible %r has no single '>=VERSION' bound" % (path, requires))
    parse(lowest[0])
    return lowest[0]


def running():
    from ansible.release import __version__
    return __version__


def _minor(version):
    return "%d.%d" % parse(version)[:2]


def supported_range(lowest):
    return "ansible-core %s through %s" % (_minor(lowest), NEWEST_TESTED)


def refusal(version, lowest):
    """The message that stops a run on ansible-core ``version`` below
    ``lowest``, or '' when ``version`` is supported."""
    if parse(version) >= parse(lowest):
        return ""
    return ("Stop: this run uses ansible-core %s, but the collection nexus_cos.launch supports %s "
            "(meta/runtime.yml: requires_ansible '>=%s'), and older releases are not tested. Install a supported ansible-core "
            "(pip install 'ansible-core>=%s,<%s.0') or use an execution environment that ships one"
            % (version, supported_range(lowest), lowest, _minor(lowest), _next_minor(NEWEST_TESTED)))


def warning(version, lowest):
    """A line for ansible-core ``version`` newer than NEWEST_TESTED, or ''."""
    if parse(version)[:2] <= parse(NEWEST_TESTED)[:2]:
        return ""
    return ("nexus_cos.launch is tested on %s; this run uses ansible-core %s, which is not tested "
            "(make compat runs the supported range)" % (supported_range(lowest), version))


def _next_minor(version):
    major, minor = parse(version)[:2]
    return "%d.%d" % (major, minor + 1)


def check(action):
    """Raise AnsibleActionFail with the refusal when ``action`` (an
    ActionBase) runs on an ansible-core below the supported range; warn once
    per run above the newest tested release."""
    from ansible.errors import AnsibleActionFail
    version, lowest = running(), lowest_supported()
    text = refusal(version, lowest)
    if text:
        raise AnsibleActionFail(text)
    text = warning(version, lowest)
    if text:
        action._display.warning(text)
