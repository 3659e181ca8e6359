# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The facts a decision rests on: the flag store and the PF documents as the
host reads them (by ``documents``, the reader the validator uses, so a
decision rests on the values precheck 7 checked), and the parsed documents
the gates take from those facts. PF files need PyYAML on the host; without
it the flag store is still read and each PF file reads as an error."""

from __future__ import annotations

import os

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents, flag_store
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import PF_FILES, ActivationError
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.plan import load_store


def read_pfs(pf_dir):
    """{name: {path, document, error}} of the four PF files, the document
    JSON-safe (dates as ISO text)."""
    out = {}
    for name in PF_FILES:
        path = os.path.join(pf_dir, name)
        try:
            out[name] = {"path": path, "document": documents.plain(documents.load_yaml_file(path)), "error": None}
        except documents.DocumentError as exc:
            out[name] = {"path": path, "document": None, "error": str(exc)}
    return out


def read_flag_store(path, service_reading=False):
    """{path, document, error}; ``service_reading``: as the platform's
    service reads it (flag_store.service_load), with ``serves_nothing`` true
    when the service would serve no flags from it."""
    try:
        store = flag_store.service_load(path) if service_reading else flag_store.load(path)
        return {"path": path, "document": store.data, "error": None, "serves_nothing": False}
    except flag_store.FlagError as exc:
        return {"path": path, "document": None, "error": str(exc),
                "serves_nothing": isinstance(exc, flag_store.StoreServesNothing)}


def facts_documents(facts, service_reading=False):
    """(FlagStore, {pf name: document}) from the host's facts, or raise."""
    store_facts = facts.get("flag_store") or {}
    if store_facts.get("error") or not isinstance(store_facts.get("document"), dict):
        raise ActivationError(store_facts.get("error") or "the flag store could not be read")
    store = load_store(store_facts["document"], store_facts.get("path") or "feature-flags.json", service_reading)
    pfs = {}
    for name, item in (facts.get("pfs") or {}).items():
        if isinstance(item, dict) and isinstance(item.get("document"), dict):
            pfs[name] = item["document"]
    return store, pfs
