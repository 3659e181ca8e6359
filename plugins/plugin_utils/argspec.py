# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""One description of each option set: an action plugin's argument spec is
derived from the DOCUMENTATION of its docs-only module (plugins/modules/
<name>.py, doc fragments included), the text ansible-doc shows, so the docs
and the validation cannot drift apart.

Module DOCUMENTATION has no place for ``no_log`` (validate-modules refuses
the key), so the action names its secret options and they are marked
``no_log`` here; each must be a documented option."""

from __future__ import annotations

import functools
import importlib
import os

import yaml
from ansible.parsing.plugin_docs import read_docstring

MODULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules")
COLLECTION = "nexus_cos.launch"
# What an argument spec takes from a documented option, as it is named there.
SPEC_KEYS = ("type", "required", "default", "choices", "elements", "aliases")


class ArgumentSpecError(ValueError):
    """The documentation of a module cannot make an argument spec."""


@functools.lru_cache(maxsize=None)
def documented_options(module):
    """The ``options`` of module ``module``'s DOCUMENTATION with the options
    of this collection's doc fragments merged in, as ansible-doc shows them.
    (Fragments of other collections, ansible.builtin's attributes, add no
    option.) Read directly, so it works wherever the action runs."""
    path = os.path.join(MODULES_DIR, "%s.py" % module)
    doc = read_docstring(path).get("doc")
    if not doc:
        raise ArgumentSpecError("%s: no DOCUMENTATION" % path)
    options = {}
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment.startswith(COLLECTION + "."):
            options.update(_fragment_options(fragment[len(COLLECTION) + 1:]))
    options.update(doc.get("options") or {})
    return options


def _fragment_options(name):
    module, dummy, variable = name.partition(".")
    fragment = importlib.import_module("ansible_collections.nexus_cos.launch.plugins.doc_fragments.%s" % module)
    text = getattr(fragment.ModuleDocFragment, (variable or "documentation").upper())
    return (yaml.safe_load(text) or {}).get("options") or {}


def argument_spec(module, secret=()):
    """The argument spec for module ``module``'s documented options, the
    options named in ``secret`` marked ``no_log``."""
    options = documented_options(module)
    unknown = sorted(set(secret) - set(options))
    if unknown:
        raise ArgumentSpecError("%s: secret option(s) %s are not documented" % (module, ", ".join(unknown)))
    spec = _spec(options)
    for name in secret:
        spec[name]["no_log"] = True
    return spec


def _spec(options):
    out = {}
    for name, option in options.items():
        entry = dict((key, option[key]) for key in SPEC_KEYS if key in option)
        if option.get("suboptions"):
            entry["options"] = _spec(option["suboptions"])
        out[name] = entry
    return out
