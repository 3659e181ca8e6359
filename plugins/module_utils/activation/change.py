# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Carrying out an activation on the host: the facts a decision needs
(flag store and PF documents), the new content of every file the change
touches worked out before anything is written, the hashes it will leave
predicted into the snapshot, then all flags in one atomic write of the flag
store and the PF values round-trip.

Used by the kill switch (module kill_switch and the on-host emergency
script), which makes its change in one execution on purpose. Marketplace
steps and the launch make theirs with the feature_flag and pf_setting
modules (the same flag_store and pf_document code), as visible tasks.
The facts a decision rests on are read by ``activation.facts``. PF files
need PyYAML on the host; without it the flag store is still read and
changed and each PF file reads as an error.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_store, pf_document, snapshot


def sha256(text):
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


class Change(object):
    """What a change writes: ``texts`` {path: new content}, ``diffs`` (as
    Ansible shows them), ``flags`` (flag_store.Plan), ``pf_changes``
    [{file, key, before, after}], ``store`` (the flag store before)."""

    def __init__(self, store, flags, texts, diffs, pf_changes, now_text):
        self.store = store
        self.flags = flags
        self.texts = texts
        self.diffs = diffs
        self.pf_changes = pf_changes
        self.now_text = now_text
        self.access_mode_after = store.access_mode()

    @property
    def changed(self):
        return bool(self.texts)

    def summary(self):
        """{changes, pf_changes, files, access_mode_before}: what a module returns."""
        return {"changes": self.flags.as_dicts(), "pf_changes": list(self.pf_changes), "files": sorted(self.texts),
                "access_mode_before": self.store.access_mode()}

    def flags_text(self):
        return ",".join("%s=%s" % (c.name, "on" if c.after else "off") for c in self.flags) or "-"

    def keys_text(self):
        return ",".join("%s:%s" % (c["file"], c["key"]) for c in self.pf_changes) or "-"


class Request(object):
    """What a change asks for: ``enable``/``disable`` (dependencies first,
    and dependants too with ``cascade``) and ``pf_settings`` [{file,
    settings}]. The kill switch sets ``service_reading`` (the flag store as
    the platform's service reads it) and passes a ``pf_skipped`` dict: a PF
    file that cannot be edited is then named there ({file: why}) and left
    out, and the others are still written. The same request is given to
    prepare and to write."""

    def __init__(self, enable=(), disable=(), cascade=False, pf_settings=(), service_reading=False, pf_skipped=None):
        self.enable = list(enable)
        self.disable = list(disable)
        self.cascade = cascade
        self.pf_settings = list(pf_settings)
        self.service_reading = service_reading
        self.pf_skipped = pf_skipped


def prepare(store_path, pf_dir, request, now=None):
    """The Change that ``request`` (a Request) makes, computed from the
    files as they are; nothing is written. Raises flag_store.FlagError or
    pf_document.PFEditError (a PF file that cannot be edited is named in
    ``request.pf_skipped`` instead, when the request has that dict)."""
    enable, disable, cascade = request.enable, request.disable, request.cascade
    pf_settings, service_reading, pf_skipped = request.pf_settings, request.service_reading, request.pf_skipped
    store = flag_store.service_load(store_path) if service_reading else flag_store.load(store_path)
    plan = flag_store.plan_change(store, enable, disable, with_dependencies=True, cascade=cascade)
    now_text = flag_store.format_timestamp(now)
    texts, diffs, pf_changes = {}, [], []
    if plan.changed:
        texts[store_path] = flag_store.render(store, plan, now_text)
        diffs.append(_diff(store_path, store.text, texts[store_path]))
    if pf_settings:
        for item in pf_settings:
            path = os.path.join(pf_dir, item["file"])
            try:
                document = pf_document.load(path)
            except (pf_document.PFEditError, OSError) as exc:
                if pf_skipped is None:
                    raise
                pf_skipped[item["file"]] = str(exc)
                continue
            before = document.text
            changes = pf_document.apply_settings(document, item["settings"])
            if changes:
                texts[path] = document.text
                diffs.append(_diff(path, before, document.text))
                pf_changes.extend({"file": item["file"], "key": c.key, "before": c.before, "after": c.after}
                                  for c in changes)
    return Change(store, plan, texts, diffs, pf_changes, now_text)


def _diff(path, before, after):
    return {"before": before, "after": after, "before_header": "%s (content)" % path,
            "after_header": "%s (content)" % path}


def predict_after(snapshot_dir, texts, run_id):
    """Write the snapshot's after.json with the hashes the change will leave,
    before the first write: a run killed halfway leaves each file as before
    or as predicted, and its rollback restores without force."""
    snapshot.record_after(snapshot_dir, predicted=dict((path, sha256(text)) for path, text in texts.items()),
                          run_id=run_id)


def write(change, store_path, pf_dir, request):
    """Make the change that ``prepare`` worked out for the same ``request``:
    the flags in one write of the flag store (re-planned under its lock),
    then the PF values. Returns the audit events that say what was written
    (FLAGS_CHANGED, PF_SETTINGS_CHANGED); the access mode the written store
    gives is in ``change.access_mode_after``. Nothing is read back: a file
    someone else changes right after stays theirs. With
    ``request.pf_skipped``, a PF file whose write fails is named there and
    the others are still written."""
    enable, disable, cascade = request.enable, request.disable, request.cascade
    pf_settings, service_reading, pf_skipped = request.pf_settings, request.service_reading, request.pf_skipped
    events = []
    if change.flags.changed:
        update = flag_store.update_flags(store_path, flag_store.FlagRequest(enable, disable, with_dependencies=True, cascade=cascade),
                                         now=change.now_text, service_reading=service_reading)
        change.access_mode_after = update.after.access_mode()
        events.append(("FLAGS_CHANGED", {
            "flags": ",".join("%s=%s" % (c.name, "on" if c.after else "off") for c in update.plan),
            "access_mode": change.access_mode_after}))
    if change.pf_changes:
        written = []
        for item in pf_settings:
            if pf_skipped is not None and item["file"] in pf_skipped:
                continue
            try:
                pf_document.update_settings(os.path.join(pf_dir, item["file"]), item["settings"])
            except (pf_document.PFEditError, OSError) as exc:
                if pf_skipped is None:
                    raise
                pf_skipped[item["file"]] = str(exc)
                continue
            written.append(item["file"])
        changes = [c for c in change.pf_changes if c["file"] in written]
        if changes:
            events.append(("PF_SETTINGS_CHANGED", {
                "files": ",".join(sorted(set(c["file"] for c in changes))),
                "keys": ",".join("%s:%s" % (c["file"], c["key"]) for c in changes)}))
    return events
