# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl --version: the collection's version, read where the collection
keeps it (galaxy.yml in a checkout; MANIFEST.json in an installed
collection, which has no galaxy.yml), and ansible-core's."""

from __future__ import annotations

import os

from ansible_collections.nexus_cos.launch.nexusctl.collection_root import ROOT
from ansible_collections.nexus_cos.launch.plugins.module_utils import documents


def collection_version(root=None):
    """The version, or "unknown (why)"."""
    root = root or ROOT
    galaxy, manifest = os.path.join(root, "galaxy.yml"), os.path.join(root, "MANIFEST.json")
    try:
        if os.path.isfile(galaxy):
            version = documents.load_yaml_file(galaxy).get("version")
            where = galaxy
        else:
            version = (documents.load_json_file(manifest).get("collection_info") or {}).get("version")
            where = manifest
    except (documents.DocumentError, AttributeError) as exc:
        return "unknown (%s)" % exc
    if not isinstance(version, str) or not version:
        return "unknown (%s has no version)" % where
    return version


def version_text(root=None):
    from ansible.release import __version__ as ansible_core_version
    return "nexusctl (nexus_cos.launch) %s\nansible-core %s" % (collection_version(root), ansible_core_version)
