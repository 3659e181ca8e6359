# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Validation of the Nexus COS launch configuration (precheck 7).

Checks the four PF files (``pfs/*.yaml``) and the flag store
(``config/feature-flags.json``) of a platform checkout: each file parses
safely, matches its schema, the flag dependency graph is sound and the files
agree with each other. Runs on the managed host as well as on the controller,
so it needs nothing but the standard library and PyYAML (python3-yaml).

Files are read by ``documents``, the collection's one reader of each format
(size cap, UTF-8, strict JSON, strict YAML 1.2 with no anchors or duplicate
keys). A file it refuses is one finding naming the file and line. Plain YAML
1.1 boolean words (``on``, ``off``, ``yes``, ``no``, ``y``, ``n``) are
strings to the platform's YAML 1.2 reader and booleans to YAML 1.1 readers:
each one is reported, as an error where the schema wants a boolean (the
platform sees a string) and as a warning elsewhere.

Findings render as ``FILE: KEY.PATH: what was found; expected ...``.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.documents import (
    DocumentError,
    describe,
    dotted,
    key_path,
    load_json_file,
    read_text,
    yaml_document,
)

# The gateway's flag semantics, shared with flag_store; the validator's
# callers use them from here too (nexus_config.access_mode, ...).
from ansible_collections.nexus_cos.launch.plugins.module_utils.flag_semantics import (  # noqa: F401 pylint: disable=unused-import
    ACCESS_MODE_FLAGS,
    access_mode,
    effective_flags,
    find_cycles,
    flag_effective,
    flag_table,
    reachable,
    requires_graph,
    requires_of,
)

FLAG_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")

# Flags the launch steps switch; the flag store must define them.
REQUIRED_FLAGS = (
    "FOUNDER_BETA_MODE",
    "PUBLIC_SOFT_LAUNCH_MODE",
    "PUBLIC_FULL_LAUNCH_MODE",
    "JURISDICTION_ENGINE_ENABLED",
    "MARKETPLACE_PHASE3_ENABLED",
)
MARKETPLACE_FLAG = "MARKETPLACE_PHASE%d_ENABLED"

GATE_STATUSES = ("pending", "passed", "failed", "waived")

# --------------------------------------------------------------------------
# Schemas. A spec is a dict: ``type`` (map, list, str, bool, int, any) plus
# optional ``allowed`` (list of values), ``min``/``max`` (int value),
# ``min_len`` (str/list/map length), ``pattern`` + ``hint`` (str),
# ``keys`` (map: spec per key; listed keys are required unless the sub-spec
# says ``optional: True``), ``values`` (map: spec for every value),
# ``key_pattern`` + ``hint`` (map: every key), ``items`` (list: every item).
# Keys not listed are allowed: the platform adds keys freely.
# --------------------------------------------------------------------------

BOOL = {"type": "bool"}
STR = {"type": "str", "min_len": 1}
POSITIVE_INT = {"type": "int", "min": 1}
ENABLED = {"type": "map", "keys": {"enabled": BOOL}}


def _pf_header(pf_id):
    return {
        "version": {"type": "str", "pattern": r"^\d+\.\d+\.\d+$",
                    "hint": "a version string like \"1.0.0\""},
        "pf_id": {"type": "str", "allowed": [pf_id]},
        "status": STR,
    }


def _map(**keys):
    return {"type": "map", "keys": keys}


MARKETPLACE_PHASE3_SCHEMA = _map(
    **_pf_header("PF-MARKETPLACE-PHASE3"),
    phase={"type": "int", "allowed": [3]},
    requires_phase={"type": "int", "allowed": [2]},
    marketplace=_map(
        phase={"type": "int", "allowed": [3]},
        enabled=BOOL,
        trading=BOOL,
        trading_features=_map(
            peer_to_peer=ENABLED,
            fixed_price_listings=ENABLED,
            auction_system=ENABLED,
        ),
        progressive_access={"type": "map", "keys": {
            audience: _map(enabled=BOOL, daily_transaction_limit=POSITIVE_INT)
            for audience in ("founders", "creators", "public")}},
    ),
    ignition_sequence={"type": "map", "keys": {
        "step_%d" % n: _map(enable=STR, audience=STR) for n in (1, 2, 3, 4)}},
)

GLOBAL_LAUNCH_SCHEMA = _map(
    **_pf_header("PF-GLOBAL-LAUNCH"),
    global_launch={"type": "map"},
    launch_gates=_map(required_validations={
        "type": "list", "min_len": 1,
        "items": _map(name=STR, status={"type": "str", "allowed": list(GATE_STATUSES)}),
    }),
    feature_flags=_map(public_signup=BOOL, founder_mode=BOOL,
                       soft_launch_mode=BOOL, full_public_mode=BOOL),
    visibility_control=_map(seo_enabled=BOOL),
    deployment=_map(team_approval=STR),
)

FOUNDER_PUBLIC_TRANSITION_SCHEMA = _map(
    **_pf_header("PF-FOUNDER-PUBLIC-TRANSITION"),
    transition_phases={"type": "map", "keys": {
        phase: _map(active=BOOL) for phase in ("founder", "public_soft", "public_full")}},
    feature_flags=_map(transition_control=_map(
        founder_mode=BOOL, soft_launch_mode=BOOL, full_public_mode=BOOL)),
)

JURISDICTION_ENGINE_SCHEMA = _map(
    **_pf_header("PF-JURISDICTION-ENGINE"),
    jurisdiction_engine=_map(regions={
        "type": "map", "min_len": 1,
        "values": _map(enabled=BOOL, features={"type": "map", "values": BOOL}),
    }),
)

PF_SCHEMAS = {
    "marketplace-phase3.yaml": MARKETPLACE_PHASE3_SCHEMA,
    "global-launch.yaml": GLOBAL_LAUNCH_SCHEMA,
    "founder-public-transition.yaml": FOUNDER_PUBLIC_TRANSITION_SCHEMA,
    "jurisdiction-engine.yaml": JURISDICTION_ENGINE_SCHEMA,
}

FLAG_STORE_SCHEMA = _map(
    version=STR,
    updated={"type": "str", "pattern": r"^\d{4}-\d{2}-\d{2}T",
             "hint": "an ISO 8601 timestamp like \"2024-12-24T00:00:00Z\""},
    feature_flags={
        "type": "map",
        "key_pattern": FLAG_NAME_RE.pattern,
        "hint": "an upper-case flag name like MARKETPLACE_PHASE3_ENABLED",
        "values": _map(
            enabled=BOOL,
            description={"type": "str"},
            type=STR,
            default={"type": "any"},
            category=STR,
            requires={"type": "list", "items": STR},
        ),
    },
    access_modes={"type": "map", "values": _map(enabled=BOOL)},
)

# --------------------------------------------------------------------------
# Findings and the report
# --------------------------------------------------------------------------


class Finding(object):
    """One problem: the file, the key path inside it and what is wrong."""

    __slots__ = ("file", "path", "message", "line")

    def __init__(self, file, path, message, line=None):
        self.file = file
        self.path = path
        self.message = message
        self.line = line

    def __str__(self):
        where = self.file if self.line is None else "%s:%d" % (self.file, self.line)
        return "%s: %s: %s" % (where, self.path, self.message) if self.path else \
            "%s: %s" % (where, self.message)

    def __repr__(self):
        return "Finding(%r)" % str(self)

    def __eq__(self, other):
        return isinstance(other, Finding) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(str(self))

    def to_dict(self):
        return {"file": self.file, "path": self.path, "line": self.line,
                "message": self.message, "text": str(self)}

    @classmethod
    def of(cls, error):
        """The finding of a file documents could not read (DocumentError)."""
        return cls(error.file, "", error.message, error.line)


class Report(object):
    """Outcome of a validation: errors fail precheck 7, warnings do not."""

    def __init__(self):
        self.errors = []
        self.warnings = []
        self.infos = []
        self.files = []  # files read, as displayed in findings
        self.facts = {}  # what status displays: access_mode, effective flags

    @property
    def ok(self):
        return not self.errors

    def error(self, file, path, message, line=None):
        self.errors.append(Finding(file, path, message, line))

    def warn(self, file, path, message, line=None):
        self.warnings.append(Finding(file, path, message, line))

    def info(self, file, path, message, line=None):
        self.infos.append(Finding(file, path, message, line))

    def to_dict(self):
        return {
            "ok": self.ok,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "infos": [f.to_dict() for f in self.infos],
            "files": list(self.files),
            "facts": dict(self.facts),
        }

    def render(self):
        """Text lines, errors first."""
        lines = []
        for label, findings in (("ERROR", self.errors), ("WARNING", self.warnings),
                                ("INFO", self.infos)):
            lines.extend("%-7s %s" % (label, f) for f in findings)
        return lines


# --------------------------------------------------------------------------
# Schema checking
# --------------------------------------------------------------------------

_TYPES = {
    "map": (dict, "a mapping"),
    "list": (list, "a list"),
    "str": (str, "a string"),
    "bool": (bool, "a boolean (true or false)"),
    "int": (int, "an integer"),
}


def _describe(value):
    return "found " + describe(value)


def _expectation(spec):
    kind = spec["type"]
    if kind == "any":
        return "a value"
    if "allowed" in spec:
        choices = ", ".join(json.dumps(v) for v in spec["allowed"])
        return "%s equal to %s" % (_TYPES[kind][1], choices) if len(spec["allowed"]) == 1 \
            else "one of %s" % choices
    if "hint" in spec and "pattern" in spec:
        return spec["hint"]
    text = _TYPES[kind][1]
    if "min" in spec and "max" in spec:
        text += " from %d to %d" % (spec["min"], spec["max"])
    elif "min" in spec:
        text += " >= %d" % spec["min"]
    if kind == "map" and spec.get("keys"):
        required = [k for k, sub in spec["keys"].items() if not sub.get("optional")]
        if required:
            text += " with keys %s" % ", ".join(required)
    return text


def _is_type(value, kind):
    if kind == "any":
        return True
    if kind == "int" and isinstance(value, bool):
        return False  # bool is an int in Python, never in a config
    return isinstance(value, _TYPES[kind][0])


def check_schema(value, spec, path="", found=None):
    """Check ``value`` against ``spec``; call ``found(path, message)`` for each
    problem (returns the list of (path, message) when ``found`` is None)."""
    problems = []
    found = found or (lambda p, m: problems.append((p, m)))
    _check(value, spec, path, found)
    return problems


def _check(value, spec, path, found):
    kind = spec["type"]
    if not _is_type(value, kind):
        found(path, "%s; expected %s" % (_describe(value), _expectation(spec)))
        return
    if "allowed" in spec and value not in spec["allowed"]:
        found(path, "%s; expected %s" % (_describe(value), _expectation(spec)))
        return
    if kind == "int" and ("min" in spec and value < spec["min"]
                          or "max" in spec and value > spec["max"]):
        found(path, "%s; expected %s" % (_describe(value), _expectation(spec)))
    if kind == "str" and "pattern" in spec and not re.search(spec["pattern"], value):
        found(path, "%s; expected %s" % (_describe(value), _expectation(spec)))
    if "min_len" in spec and len(value) < spec["min_len"]:
        found(path, "found %s with %d %s; expected at least %d" % (
            _TYPES[kind][1], len(value), "characters" if kind == "str" else "entries",
            spec["min_len"]) if value else "found an empty %s; expected a non-empty %s"
            % ((_TYPES[kind][1].split()[-1],) * 2))
    if kind == "map":
        for key, sub in spec.get("keys", {}).items():
            if key in value:
                _check(value[key], sub, key_path(path, key), found)
            elif not sub.get("optional"):
                found(key_path(path, key), "missing; expected %s" % _expectation(sub))
        if "key_pattern" in spec:
            for key in value:
                if not isinstance(key, str) or not re.match(spec["key_pattern"], key):
                    found(key_path(path, key), "key %s does not match %s; expected %s"
                          % (json.dumps(str(key)), spec["key_pattern"], spec.get("hint", "")))
        if "values" in spec:
            for key, item in value.items():
                _check(item, spec["values"], key_path(path, key), found)
    elif kind == "list" and "items" in spec:
        for index, item in enumerate(value):
            _check(item, spec["items"], key_path(path, index), found)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _get(data, dotted, default=None):
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data


def check_flag_store(store, display, report):
    """Schema plus dependency rules of a loaded flag store."""
    for path, message in check_schema(store, FLAG_STORE_SCHEMA):
        report.error(display, path, message)
    table = store.get("feature_flags")
    if not isinstance(table, dict):
        return
    state = effective_flags(table)
    cycles = find_cycles(table)
    in_cycle = set(name for cycle in cycles for name in cycle)
    for cycle in cycles:
        report.error(display, key_path(key_path("feature_flags", cycle[0]), "requires"),
                     "dependency cycle %s; expected requires to form no cycle (the gateway "
                     "could never enable these flags)" % " -> ".join(cycle))
    for name, flag in table.items():
        if not isinstance(flag, dict):
            continue
        base = key_path("feature_flags", name)
        requires = flag.get("requires")
        if isinstance(requires, list):
            seen = set()
            for index, dep in enumerate(requires):
                if not isinstance(dep, str):
                    continue  # schema already said so
                where = key_path(key_path(base, "requires"), index)
                if dep not in table:
                    report.error(display, where, "names unknown flag %s; expected the name "
                                 "of a flag defined in feature_flags" % json.dumps(dep))
                elif dep in seen:
                    report.warn(display, where, "lists %s twice; expected each "
                                "requirement once" % dep)
                seen.add(dep)
        if flag.get("type") == "boolean" and "default" in flag \
                and not isinstance(flag["default"], bool):
            report.error(display, key_path(base, "default"), "%s; expected a boolean for a "
                         "flag of type boolean" % _describe(flag["default"]))
        if flag.get("enabled") is True and not state.get(name) and name not in in_cycle \
                and requires_of(flag) is not None:
            off = ", ".join("%s (%s)" % (d, "off" if d in table else "unknown")
                            for d in requires_of(flag) if not state.get(d))
            report.error(display, key_path(base, "enabled"),
                         "is true but %s is not effectively on: it requires %s; expected "
                         "every required flag on (the gateway refuses this state)"
                         % (name, off))
    modes = store.get("access_modes")
    if isinstance(modes, dict):
        current = access_mode(table)
        for mode, entry in sorted(modes.items()):
            enabled = entry.get("enabled") if isinstance(entry, dict) else None
            if isinstance(enabled, bool) and enabled != (mode == current):
                report.warn(display, key_path(key_path("access_modes", mode), "enabled"),
                            "is %s but the flags make the current access mode %s; expected "
                            "them to agree" % (json.dumps(enabled), current))


def spec_at(spec, keys):
    """The schema spec for the value at ``keys`` (a tuple of keys and
    indices), or None where the schema says nothing about it."""
    for key in keys:
        if spec is None:
            return None
        if spec["type"] == "map":
            spec = spec.get("keys", {}).get(key) or spec.get("values")
        elif spec["type"] == "list" and isinstance(key, int):
            spec = spec.get("items")
        else:
            return None
    return spec


def check_ambiguous_booleans(ambiguous, spec, display, report):
    """Report each plain YAML 1.1 boolean word (documents.AmbiguousBoolean):
    an error where ``spec`` (the file's schema, or None) wants a boolean,
    since the platform's YAML 1.2 reader sees a string there; a warning
    elsewhere. Returns the key paths reported as errors."""
    errors = set()
    for item in ambiguous:
        path = dotted(item.path)
        word = item.word
        if item.is_key:
            report.warn(display, path, "key %s is a YAML 1.1 boolean word: YAML 1.1 readers take it for %s, the "
                        "platform's YAML 1.2 reader for the string %s; quote it (%s)"
                        % (word, _yaml_1_1_meaning(word), json.dumps(word), json.dumps(word)), item.line)
        elif (spec_at(spec, item.path) or {}).get("type") == "bool":
            errors.add(path)
            report.error(display, path, "found %s, a YAML 1.1 boolean word: the platform reads YAML 1.2, where it "
                         "is the string %s; expected a boolean: write true or false"
                         % (word, json.dumps(word)), item.line)
        else:
            report.warn(display, path, "found %s, a YAML 1.1 boolean word: YAML 1.1 readers take it for %s, the "
                        "platform's YAML 1.2 reader for the string %s; write true or false where a boolean "
                        "was meant, or quote it (%s) where a string was meant"
                        % (word, _yaml_1_1_meaning(word), json.dumps(word), json.dumps(word)), item.line)
    return errors


def _yaml_1_1_meaning(word):
    return "true" if word.lower() in ("y", "yes", "on") else "false"


def check_pf(name, data, display, report, ambiguous=()):
    """Schema of one known PF file plus the rules inside it. ``ambiguous``:
    the file's plain YAML 1.1 boolean words (documents.yaml_document)."""
    reported = check_ambiguous_booleans(ambiguous, PF_SCHEMAS[name], display, report)
    for path, message in check_schema(data, PF_SCHEMAS[name]):
        if path not in reported:  # already said, with its line and the fix
            report.error(display, path, message)
    if name == "global-launch.yaml":
        gates = _get(data, "launch_gates.required_validations")
        if isinstance(gates, list):
            seen = set()
            for index, gate in enumerate(gates):
                gate_name = gate.get("name") if isinstance(gate, dict) else None
                if isinstance(gate_name, str) and gate_name in seen:
                    report.error(display, key_path(key_path(
                        "launch_gates.required_validations", index), "name"),
                        "gate %s is listed twice; expected unique gate names"
                        % json.dumps(gate_name))
                if isinstance(gate_name, str):
                    seen.add(gate_name)
    if name == "marketplace-phase3.yaml":
        if _get(data, "marketplace.enabled") is False:
            on = [p for p in ("marketplace.trading",)
                  + tuple("marketplace.trading_features.%s.enabled" % f for f in
                          ("peer_to_peer", "fixed_price_listings", "auction_system"))
                  + tuple("marketplace.progressive_access.%s.enabled" % a for a in
                          ("founders", "creators", "public"))
                  if _get(data, p) is True]
            for path in on:
                report.warn(display, path, "is true while marketplace.enabled is false; "
                            "expected the marketplace on first")
    if name == "founder-public-transition.yaml":
        phases = _get(data, "transition_phases")
        if isinstance(phases, dict):
            active = [p for p in ("founder", "public_soft", "public_full")
                      if _get(phases, p + ".active") is True]
            if len(active) != 1:
                report.warn(display, "transition_phases", "%d phases active (%s); expected "
                            "exactly one" % (len(active), ", ".join(active) or "none"))


_MODE_OF_PHASE = {"founder": "founder_beta", "public_soft": "public_soft",
                  "public_full": "public_full"}
_PF_MODE_FLAGS = (("founder_mode", "FOUNDER_BETA_MODE"),
                  ("soft_launch_mode", "PUBLIC_SOFT_LAUNCH_MODE"),
                  ("full_public_mode", "PUBLIC_FULL_LAUNCH_MODE"))


def check_cross_file(pfs, store, store_display, report):
    """Rules spanning files. ``pfs`` maps PF file name -> (display, data) for
    the PF files that loaded; ``store`` is the loaded flag store or None."""
    if not isinstance(store, dict) or not isinstance(store.get("feature_flags"), dict):
        return  # nothing to compare with; the schema check said why
    table = store["feature_flags"]
    state = effective_flags(table)
    mode = access_mode(table)
    for flag in REQUIRED_FLAGS:
        if flag not in table:
            report.error(store_display, key_path("feature_flags", flag),
                         "missing; expected flag %s (the launch switches it)" % flag)

    if "marketplace-phase3.yaml" in pfs:
        display, data = pfs["marketplace-phase3.yaml"]
        _check_marketplace_flags(data, display, table, state, mode, store_display, report)

    for pf_name, section in (("global-launch.yaml", "feature_flags"),
                             ("founder-public-transition.yaml",
                              "feature_flags.transition_control")):
        if pf_name not in pfs:
            continue
        display, data = pfs[pf_name]
        for key, flag in _PF_MODE_FLAGS:
            declared = _get(data, section + "." + key)
            if isinstance(declared, bool) and flag in table and declared != state[flag]:
                report.warn(display, section + "." + key,
                            "is %s but flag %s is effectively %s in %s; expected them to agree"
                            % (json.dumps(declared), flag, "on" if state[flag] else "off",
                               store_display))

    if "global-launch.yaml" in pfs:
        display, data = pfs["global-launch.yaml"]
        if _get(data, "feature_flags.public_signup") is True and \
                mode not in ("public_soft", "public_full"):
            report.warn(display, "feature_flags.public_signup", "is true while the access "
                        "mode is %s; expected public signups only in a public mode" % mode)

    if "founder-public-transition.yaml" in pfs:
        display, data = pfs["founder-public-transition.yaml"]
        active = [p for p in _MODE_OF_PHASE
                  if _get(data, "transition_phases.%s.active" % p) is True]
        if len(active) == 1 and _MODE_OF_PHASE[active[0]] != mode:
            report.warn(display, "transition_phases.%s.active" % active[0],
                        "is true but the flags in %s make the access mode %s; expected "
                        "the active phase to match the access mode" % (store_display, mode))


def _check_marketplace_flags(data, display, table, state, mode, store_display, report):
    phase, requires_phase = data.get("phase"), data.get("requires_phase")
    if not check_schema(phase, MARKETPLACE_PHASE3_SCHEMA["keys"]["phase"]) and \
            not check_schema(requires_phase, MARKETPLACE_PHASE3_SCHEMA["keys"]["requires_phase"]):
        needed = MARKETPLACE_FLAG % requires_phase
        phase_flag = MARKETPLACE_FLAG % phase
        if needed not in table:
            report.error(store_display, key_path("feature_flags", needed),
                         "missing; expected it because %s requires_phase is %d"
                         % (display, requires_phase))
        elif phase_flag in table and needed not in reachable(requires_graph(table), phase_flag):
            report.error(store_display, key_path(key_path("feature_flags", phase_flag),
                                                 "requires"),
                         "does not include %s; expected it because %s requires_phase is %d"
                         % (needed, display, requires_phase))
    phase_flag = MARKETPLACE_FLAG % 3
    enabled = _get(data, "marketplace.enabled")
    if isinstance(enabled, bool) and phase_flag in table and enabled != state[phase_flag]:
        report.warn(display, "marketplace.enabled",
                    "is %s but flag %s is effectively %s in %s; expected them to agree"
                    % (json.dumps(enabled), phase_flag, "on" if state[phase_flag] else "off",
                       store_display))
    if _get(data, "marketplace.trading_features.auction_system.enabled") is True \
            and mode != "public_full":
        report.warn(display, "marketplace.trading_features.auction_system.enabled",
                    "is true while the access mode is %s; expected auctions only once the "
                    "Phase 4 public launch is live (public_full)" % mode)


def _display(path, repo_dir):
    """Path as shown in findings: relative to the checkout when inside it,
    JSON-quoted when it holds characters that could forge an output line."""
    path = os.path.abspath(path)
    repo = os.path.abspath(repo_dir)
    if path == repo or path.startswith(repo.rstrip(os.sep) + os.sep):
        path = os.path.relpath(path, repo)
    return path if path.isprintable() else json.dumps(path)


def validate_repo(repo_dir, pf_dir=None, flag_store=None):
    """Precheck 7: validate the PF files and the flag store of a checkout.

    ``pf_dir`` defaults to ``REPO/pfs``, ``flag_store`` to
    ``REPO/config/feature-flags.json``. Never raises for bad content; every
    problem is a Finding in the returned Report."""
    report = Report()
    pf_dir = pf_dir or os.path.join(repo_dir, "pfs")
    flag_store = flag_store or os.path.join(repo_dir, "config", "feature-flags.json")
    pfs = {}

    pf_display = _display(pf_dir, repo_dir)
    if not os.path.isdir(pf_dir):
        report.error(pf_display, "", "PF directory not found; expected a directory holding %s"
                     % ", ".join(sorted(PF_SCHEMAS)))
        entries = []
    else:
        try:
            entries = sorted(os.listdir(pf_dir))
        except OSError as exc:
            report.error(pf_display, "", "cannot be listed (%s)" % (exc.strerror or exc))
            entries = []
        for name in sorted(PF_SCHEMAS):
            path = os.path.join(pf_dir, name)
            display = _display(path, repo_dir)
            report.files.append(display)
            try:
                document = yaml_document(read_text(path, display), display)
            except DocumentError as exc:
                report.errors.append(Finding.of(exc))
                continue
            pfs[name] = (display, document.data)
            check_pf(name, document.data, display, report, document.ambiguous)

    for name in entries:
        if name in PF_SCHEMAS or name.startswith(".") or \
                not name.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(pf_dir, name)
        display = _display(path, repo_dir)
        stem = name.rsplit(".", 1)[0] + ".yaml"
        hint = " (did you mean %s?)" % stem if stem in PF_SCHEMAS else ""
        report.files.append(display)
        try:
            document = yaml_document(read_text(path, display), display)
        except DocumentError as exc:
            report.warn(exc.file, "", "%s (an extra PF file, not one the launch reads)%s"
                        % (exc.message, hint), exc.line)
            continue
        report.info(display, "", "not a PF file the launch reads; parsed, not "
                    "schema-checked%s" % hint)
        check_ambiguous_booleans(document.ambiguous, None, display, report)

    store_display = _display(flag_store, repo_dir)
    report.files.append(store_display)
    store = None
    try:
        store = load_json_file(flag_store, store_display)
    except DocumentError as exc:
        report.errors.append(Finding.of(exc))
    if store is not None:
        check_flag_store(store, store_display, report)
        check_cross_file(pfs, store, store_display, report)
        table = flag_table(store)
        report.facts["access_mode"] = access_mode(table)
        report.facts["effective_flags"] = effective_flags(table)
    return report
