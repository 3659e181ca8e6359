# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where things live on a Nexus COS host, as nexusctl names them: read from
the collection's one home of host paths, roles/launch_context/defaults/main.yml
(nexusctl runs on the controller beside the collection), never copied here.

Only what the file says literally is resolved: a plain value, or one made of
``{{ nexus_... }}`` references to other values of the same file
(``"{{ nexus_repo_dir }}/pfs"``). Anything else (a filter, a lookup) is for
Ansible to render, and is refused with the name of the value.
"""

from __future__ import annotations

import os
import re

from ansible_collections.nexus_cos.launch.nexusctl.collection_root import ROOT
from ansible_collections.nexus_cos.launch.plugins.module_utils import documents

DEFAULTS_RELPATH = os.path.join("roles", "launch_context", "defaults", "main.yml")
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class HostPathsError(ValueError):
    """The defaults file cannot be read, or a value cannot be resolved."""


def defaults_file(root=None):
    return os.path.join(root or ROOT, DEFAULTS_RELPATH)


def host_default(name, path=None):
    """The default of ``name`` (e.g. nexus_audit_dir) with its references
    to other defaults resolved. Raises HostPathsError naming the file and
    the value."""
    path = path or defaults_file()
    try:
        defaults = documents.load_yaml_file(path)
    except documents.DocumentError as exc:
        raise HostPathsError("cannot read the host path defaults: %s" % exc)
    return _resolve(defaults, name, path, ())


def _resolve(defaults, name, path, seen):
    if name in seen:
        raise HostPathsError("%s: %s refers to itself through %s; expected a path"
                             % (path, seen[0], " -> ".join(seen + (name,))))
    if name not in defaults:
        raise HostPathsError("%s: no %s; expected the host path defaults to define it" % (path, name))
    value = defaults[name]
    if not isinstance(value, str):
        raise HostPathsError("%s: %s is %s; expected a path" % (path, name, documents.describe(value)))
    if "{" not in value:
        return value
    if "{" in _REFERENCE.sub("", value):
        raise HostPathsError("%s: %s is %s, which only Ansible can render; expected a path or "
                             "{{ nexus_... }} references" % (path, name, documents.describe(value)))
    return _REFERENCE.sub(lambda match: _resolve(defaults, match.group(1), path, seen + (name,)), value)
