# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The Nexus COS feature flag store (``feature-flags.json``), as the gateway reads it.

Runs on the managed host, so it uses the standard library only. The file is
read by ``documents``, the collection's one strict JSON reader (the one the
validator uses): no duplicate keys, no NaN/Infinity, no byte-order mark.

What the flags mean (effective state, access mode) is ``flag_semantics``;
this module adds what the gateway accepts as a change: enabling a flag whose
``requires`` are not on is refused, as are unknown names.

Edits keep the file's own text: only the changed ``enabled`` values and
``updated`` are rewritten in place, so a flag change is a minimal diff even
when the file was not written by ``json.dumps`` (the platform's copy has inline
``requires`` arrays).  The result is re-parsed and compared with the intended
document before anything is written.

Writes take the sidecar edit lock and replace the file atomically
(``atomic_file``), keeping the file's mode and owner.

Two readings, one file each way in: ``load`` is the collection's strict
reading (validate, prechecks, activation); ``service_load`` is the platform
service's own reading, which the kill switch uses (see "The service's
reading" below): an emergency must act on whatever the service serves.
"""

from __future__ import annotations

import copy
import json
import os
from collections import namedtuple

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import (
    EDIT_LOCK_TIMEOUT,
    EditLockError,
    edit_lock,
    write_atomic,
)
from ansible_collections.nexus_cos.launch.plugins.module_utils.flag_semantics import (
    access_mode,
    effective_flags,
    find_cycles,
    marketplace_phase,
    requires_of,
)

# The sidecar edit lock, as flag store callers import it (raises EditLockError, an OSError).
file_lock = edit_lock


class FlagError(Exception):
    """A flag store that cannot be read, or a change the gateway would refuse.

    ``details`` carries the names involved, for callers that report them
    (keys: ``unknown``, ``missing``, ``dependants``, ``conflicting``, ``cycle``).
    """

    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details or {}


Change = namedtuple('Change', ['name', 'before', 'after'])


class Plan:
    """The flag changes a request needs, in the order they make sense to a reader:
    disables (dependants first), then enables (requirements first)."""

    def __init__(self, changes):
        self.changes = list(changes)

    @property
    def changed(self):
        return bool(self.changes)

    def as_dicts(self):
        return [dict(name=c.name, before=c.before, after=c.after) for c in self.changes]

    def __iter__(self):
        return iter(self.changes)

    def __len__(self):
        return len(self.changes)

    def __repr__(self):
        return 'Plan(%r)' % (self.changes,)


# ---------------------------------------------------------------------------
# Reading


class FlagStore:
    """A parsed flag store. ``data`` is the whole document (key order kept),
    ``text`` the text it came from, ``source`` the file name used in messages."""

    def __init__(self, data, text, source, service_reading=False):
        self.data = data
        self.text = text
        self.source = source
        # Read as the platform's service reads it (service_loads), not strictly.
        self.service_reading = service_reading

    @property
    def flags(self):
        return self.data['feature_flags']

    def names(self):
        return list(self.flags)

    def __contains__(self, name):
        return name in self.flags

    def is_enabled(self, name):
        """The flag's own ``enabled`` value (False for unknown names)."""
        flag = self.flags.get(name)
        return isinstance(flag, dict) and flag.get('enabled') is True

    def requires(self, name):
        # A malformed requires (only a service reading can hold one) counts as none here;
        # flag_semantics counts such a flag as never on.
        return list(requires_of(self.flags.get(name, {})) or [])

    def effective(self, name):
        """True when the flag and everything it requires, recursively, is
        enabled (never for a flag that reaches a ``requires`` cycle)."""
        return effective_flags(self.data).get(name, False)

    def effective_all(self):
        return effective_flags(self.data)

    def access_mode(self):
        return access_mode(self.data)

    def marketplace_phase(self):
        return marketplace_phase(self.data)

    def closure(self, name):
        """The flags ``name`` requires, recursively, requirements first
        (excluding ``name`` itself). Raises FlagError on unknown names or cycles."""
        order = []
        done = set()

        def visit(node, path):
            if node in path:
                cyc = path[path.index(node):] + [node]
                raise FlagError(
                    '%s: flag %s cannot be enabled: its requires form a cycle: %s'
                    % (self.source, name, ' -> '.join(cyc)), dict(cycle=cyc))
            if node in done:
                return
            if node not in self.flags:
                parent = path[-1] if path else name
                raise FlagError(
                    '%s: flag %s requires unknown flag %s' % (self.source, parent, node),
                    dict(unknown=[node]))
            if not isinstance(self.flags[node], dict):
                raise FlagError('%s: flag %s is %s, not an object; it cannot be enabled'
                                % (self.source, node, _describe(self.flags[node])), dict(malformed=[node]))
            for req in self.requires(node):
                visit(req, path + [node])
            done.add(node)
            order.append(node)

        visit(name, [])
        return [n for n in order if n != name]

    def dependants(self, name):
        """Flags with ``enabled: true`` that require ``name``, directly or through
        other flags, dependants of dependants first."""
        reverse = {}
        for flag in self.flags:
            for req in self.requires(flag):
                reverse.setdefault(req, []).append(flag)
        found = []
        seen = set([name])

        def visit(node):
            for dep in reverse.get(node, []):
                if dep in seen:
                    continue
                seen.add(dep)
                visit(dep)
                found.append(dep)

        # Post-order: each flag is listed after everything that depends on it.
        visit(name)
        return [f for f in found if self.is_enabled(f)]

    def requires_cycles(self):
        """Each requires cycle, as a list of names ending where it starts."""
        return find_cycles(self.data)


def _describe(value):
    return json.dumps(value, ensure_ascii=False)


def _validate(data, source):
    if not isinstance(data, dict):
        raise FlagError('%s: expected a JSON object at the top level, found %s'
                        % (source, type(data).__name__))
    flags = data.get('feature_flags')
    if not isinstance(flags, dict):
        raise FlagError('%s: key feature_flags must be an object mapping flag names to flags, found %s'
                        % (source, _describe(flags) if flags is None else type(flags).__name__))
    for name, flag in flags.items():
        where = 'feature_flags.%s' % name
        if not isinstance(flag, dict):
            raise FlagError('%s: key %s must be an object, found %s' % (source, where, type(flag).__name__))
        if not isinstance(flag.get('enabled'), bool):
            raise FlagError('%s: key %s.enabled must be true or false, found %s'
                            % (source, where, _describe(flag.get('enabled'))))
        requires = flag.get('requires', [])
        if requires is None:
            requires = []
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise FlagError('%s: key %s.requires must be a list of flag names, found %s'
                            % (source, where, _describe(requires)))


def loads(text, source='<string>'):
    """Parse flag store text (str or bytes) with the strict JSON reader."""
    try:
        if isinstance(text, bytes):
            text = documents.decode_text(text, source)
        data = documents.load_json_text(text, source)
    except documents.DocumentError as exc:
        raise FlagError(str(exc))
    _validate(data, source)
    return FlagStore(data, text, source)


def load(path):
    try:
        text = documents.read_text(path)
    except documents.DocumentError as exc:
        raise FlagError('%s: cannot read flag store: %s' % (exc.where, exc.message))
    return loads(text, source=path)


# ---------------------------------------------------------------------------
# The service's reading
#
# What the platform's flag service (Express, ``fs.readFileSync(path, 'utf8')``
# then ``JSON.parse`` and truthiness checks) accepts and serves, decided here
# once; the kill switch reads the store this way, and gateway.store_problem
# explains a gateway that serves nothing by it.
#
# * any size, and through a symlink (the service opens the path);
# * bytes that are not UTF-8 read as U+FFFD (Node's decoder replaces them);
# * a duplicate key: the last one wins (JSON.parse); NaN, Infinity and a
#   byte-order mark are refused (JSON.parse throws on them);
# * ``feature_flags`` must be a non-empty object, else the service serves no
#   flags at all;
# * a flag is on only when it is an object whose ``enabled`` is exactly
#   ``true`` and whose ``requires`` are on: ``enabled: null`` (what the
#   service's own ``PUT /api/feature-flags/NAME {}`` writes), a missing or null
#   ``requires``, missing ``version``/``updated`` and extra keys are all
#   served as they are; a flag that is not an object is served and never on.
#
# A file the service cannot read or parse makes it serve no flags after a
# reload (access mode ``none``): StoreServesNothing.


class StoreServesNothing(FlagError):
    """The platform's service would serve no flags at all from this file."""


def _refuse_constant(name):
    raise ValueError('%s is not valid JSON (JSON.parse refuses it)' % name)


def service_loads(text, source='<string>'):
    """A FlagStore as the platform's service reads ``text`` (str or bytes).
    Raises StoreServesNothing, saying why, when the service would serve no flags."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    if text.startswith('\ufeff'):
        raise StoreServesNothing('%s: starts with a byte-order mark, which JSON.parse refuses' % source)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise StoreServesNothing('%s: invalid JSON: nesting too deep' % source)
    except ValueError as exc:
        raise StoreServesNothing('%s: invalid JSON: %s' % (source, exc))
    if not isinstance(data, dict):
        raise StoreServesNothing('%s: the top level is %s, not an object: it holds no feature_flags'
                                 % (source, type(data).__name__))
    flags = data.get('feature_flags')
    if not isinstance(flags, dict) or not flags:
        raise StoreServesNothing('%s: feature_flags is %s; expected an object of flags'
                                 % (source, _describe(flags) if not isinstance(flags, (dict, list)) else
                                    ('empty' if not flags else 'a list')))
    return FlagStore(data, text, source, service_reading=True)


def service_load(path):
    """service_loads of the file at ``path``, as the service opens it (any
    size, through a symlink). A file it cannot read serves nothing."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise StoreServesNothing('%s: cannot be read (%s)' % (path, exc.strerror or exc))
    return service_loads(data, source=path)


def service_problem(path):
    """Why the service would serve no flags from ``path``, or None."""
    try:
        service_load(path)
    except StoreServesNothing as exc:
        return str(exc).split(': ', 1)[-1] if str(exc).startswith(path + ': ') else str(exc)
    return None


# ---------------------------------------------------------------------------
# Planning


def _dedupe(names):
    out = []
    for name in names or ():
        if name not in out:
            out.append(name)
    return out


def _topological(store, names):
    """``names`` ordered so each comes after the flags it requires."""
    wanted = set(names)
    order = []
    for name in names:
        for req in store.closure(name) + [name]:
            if req in wanted and req not in order:
                order.append(req)
    return order


def plan_change(store, enable=(), disable=(), with_dependencies=False, cascade=False):
    """Work out the flag changes that make ``enable`` effectively on and
    ``disable`` off, the way the gateway would accept them.

    * unknown names are refused;
    * enabling a flag whose requirements are not (being) enabled is refused,
      unless ``with_dependencies``, which enables them first;
    * disabling a flag that enabled flags depend on is refused, unless
      ``cascade``, which disables those dependants too. The refusal only
      applies when the flag is actually on; ``cascade`` always applies.

    Returns a Plan; an empty Plan means the state already holds.
    """
    enable = _dedupe(enable)
    disable = _dedupe(disable)
    src = store.source

    unknown = [n for n in enable + disable if n not in store]
    if unknown:
        raise FlagError('%s: unknown flag%s: %s (known flags: %s)'
                        % (src, 's' if len(unknown) > 1 else '', ', '.join(unknown),
                           ', '.join(store.names())),
                        dict(unknown=unknown))
    both = [n for n in enable if n in disable]
    if both:
        raise FlagError('%s: flag%s both enabled and disabled in one request: %s'
                        % (src, 's' if len(both) > 1 else '', ', '.join(both)),
                        dict(conflicting=both))

    # Disables: the named flags plus, with cascade, everything enabled that needs them.
    off = list(disable)
    blocked = {}
    for name in disable:
        dependants = [d for d in store.dependants(name) if d not in disable]
        if not dependants:
            continue
        if cascade:
            for dep in dependants:
                if dep not in off:
                    off.append(dep)
        elif store.is_enabled(name):
            blocked[name] = dependants
    if blocked:
        parts = ['%s (needed by %s)' % (name, ', '.join(deps)) for name, deps in blocked.items()]
        raise FlagError('%s: cannot disable %s: enabled flags depend on it; disable them first '
                        'or cascade the disable to them (cascade=true)' % (src, '; '.join(parts)),
                        dict(dependants=blocked))
    cascaded_into_enable = [n for n in off if n in enable]
    if cascaded_into_enable:
        raise FlagError('%s: cannot enable %s: disabling %s turns it off, because it depends on them'
                        % (src, ', '.join(cascaded_into_enable), ', '.join(disable)),
                        dict(conflicting=cascaded_into_enable))

    # Enables: requirements first.
    if with_dependencies:
        on = []
        for name in enable:
            for req in store.closure(name) + [name]:
                if req not in on:
                    on.append(req)
        clash = [n for n in on if n in off]
        if clash:
            raise FlagError('%s: cannot enable %s: it requires %s, which this request disables'
                            % (src, ', '.join(enable), ', '.join(clash)),
                            dict(conflicting=clash))
    else:
        on = _topological(store, enable)

    after = dict((name, store.is_enabled(name)) for name in store.flags)
    for name in off:
        after[name] = False
    for name in on:
        after[name] = True

    missing = {}
    for name in enable:
        needed = [r for r in store.closure(name) if not after[r]]
        if needed:
            missing[name] = needed
    if missing:
        parts = ['cannot enable %s: it requires %s, %s not enabled'
                 % (name, ', '.join(reqs), 'which is' if len(reqs) == 1 else 'which are')
                 for name, reqs in missing.items()]
        raise FlagError('%s: %s; enable the required flags in the same request, or have dependencies '
                        'enabled first (dependencies=enable)' % (src, '; '.join(parts)),
                        dict(missing=missing))

    order = list(_disable_order(store, off)) + on
    changes = [Change(n, store.is_enabled(n), after[n]) for n in order
               if store.is_enabled(n) != after[n]]
    return Plan(changes)


def _disable_order(store, names):
    """Dependants before the flags they require."""
    try:
        forward = _topological(store, names)
    except FlagError:
        # A cycle or dangling requirement does not stop a disable.
        return list(names)
    return list(reversed(forward))


def apply_plan(store, plan):
    """The store's document with ``plan`` applied (``updated`` untouched)."""
    data = copy.deepcopy(store.data)
    for change in plan:
        data['feature_flags'][change.name]['enabled'] = change.after
    return data


# ---------------------------------------------------------------------------
# Writing


def format_timestamp(now=None):
    """``updated`` as the gateway writes it (utc_time.iso_utc): ``now`` a
    datetime (naive means UTC), epoch seconds, an ISO 8601 string, or None
    for the current time. Raises FlagError naming ``now``."""
    try:
        return utc_time.iso_utc(now)
    except ValueError as exc:
        raise FlagError('now: %s' % exc)


def dumps(data, ensure_ascii=False):
    """The gateway's canonical format: 2-space JSON, key order kept, final newline."""
    return json.dumps(data, indent=2, ensure_ascii=ensure_ascii) + '\n'


def render(store, plan, now=None):
    """The new file text for ``plan``; the original text, byte for byte, when
    the plan is empty (``updated`` only moves when something changed)."""
    if not plan.changed:
        return store.text
    data = apply_plan(store, plan)
    data['updated'] = format_timestamp(now)
    edits = {('updated',): json.dumps(data['updated'])}
    for change in plan:
        edits[('feature_flags', change.name, 'enabled')] = 'true' if change.after else 'false'
    spans = _spans(store)
    if all(path in spans for path in edits):
        text = store.text
        for start, end, value in sorted(((spans[p][0], spans[p][1], v) for p, v in edits.items()),
                                        reverse=True):
            text = text[:start] + value + text[end:]
        try:
            if _reads_back(store, text) == data:
                return text
        except (documents.DocumentError, FlagError):
            pass  # the canonical format below, which reads back by construction
    # No ``updated`` key to rewrite (or an unexpected layout): write the canonical
    # format, escaping non-ASCII only if the original did.
    escaped = '\\u' in store.text and all(ord(c) < 128 for c in store.text)
    return dumps(data, ensure_ascii=escaped)


def _spans(store):
    """Where each value of the store's text is, or {} when an in-place edit
    is not for this text: a service reading may hold duplicate keys (the
    canonical rewrite keeps the last, as the service does) or be far larger
    than the scanner is quick for (the kill switch is timed)."""
    if store.service_reading and len(store.text) > documents.MAX_FILE_BYTES:
        return {}
    try:
        return documents.json_spans(store.text)
    except Exception:  # pylint: disable=broad-except
        # Only a service reading gets here (a duplicate key): rewrite it canonically.
        if not store.service_reading:
            raise
        return {}


def _reads_back(store, text):
    if store.service_reading:
        return service_loads(text, store.source).data
    return documents.load_json_text(text, store.source)


# ---------------------------------------------------------------------------
# The whole change


class FlagUpdate(namedtuple('FlagUpdate', ['before', 'after', 'plan', 'before_text', 'after_text',
                                           'backup_file', 'written'])):
    """Result of update_flags. ``before``/``after`` are FlagStores."""

    @property
    def changed(self):
        return self.plan.changed


class FlagRequest(object):
    """The flag change asked for: flags to turn on and off, and whether a
    flag's dependencies come along (``with_dependencies``) and its
    dependants go off with it (``cascade``), as plan_change takes them."""

    def __init__(self, enable=(), disable=(), with_dependencies=False, cascade=False):
        self.enable = enable
        self.disable = disable
        self.with_dependencies = with_dependencies
        self.cascade = cascade

    def plan(self, store):
        """The FlagPlan of this request against ``store``."""
        return plan_change(store, self.enable, self.disable, self.with_dependencies, self.cascade)


def update_flags(path, request, now=None, check_mode=False, backup=None, prepare=None, lock_timeout=EDIT_LOCK_TIMEOUT,
                 service_reading=False):
    """Plan and (unless ``check_mode``) write the flag change ``request``
    (a FlagRequest) to the store at ``path``.

    Reads without a lock first, so a request whose state already holds
    touches nothing, not even a lock file. A real change re-reads and
    re-plans under the lock, then writes atomically. ``backup(path)`` is
    called under the lock before the write and returns the backup's name.

    ``service_reading``: read the store as the platform's service does
    (service_load, the kill switch) and, when ``path`` is a symlink, replace
    its target and keep the link (the service reads through it).
    """
    now_text = format_timestamp(now)
    read, reads = (service_load, service_loads) if service_reading else (load, loads)
    target = os.path.realpath(path) if service_reading else path
    store = read(path)
    plan = request.plan(store)
    if not plan.changed or check_mode:
        text = render(store, plan, now_text)
        after = reads(text, path) if plan.changed else store
        return FlagUpdate(store, after, plan, store.text, text, None, False)
    try:
        with edit_lock(path, timeout=lock_timeout):
            store = read(path)
            plan = request.plan(store)
            text = render(store, plan, now_text)
            if not plan.changed:
                return FlagUpdate(store, store, plan, store.text, text, None, False)
            after = reads(text, path)
            backup_file = backup(path) if backup is not None else None
            write_atomic(target, text, mode=None, prepare=prepare)
    except EditLockError as exc:
        raise FlagError(str(exc))
    return FlagUpdate(store, after, plan, store.text, text, backup_file, True)
