# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What a Nexus COS flag store means, as the gateway reads it.

* a flag is effectively on only if ``enabled`` is true and every flag in its
  ``requires`` is effectively on, recursively; unknown requirements,
  malformed entries and ``requires`` cycles count as off (the gateway could
  never prove them on);
* the access mode is ``public_full`` / ``public_soft`` / ``founder_beta`` /
  ``none``, from the first of PUBLIC_FULL_LAUNCH_MODE,
  PUBLIC_SOFT_LAUNCH_MODE, FOUNDER_BETA_MODE that is effectively on;
* the marketplace phase is 3 when MARKETPLACE_PHASE3_ENABLED is effectively
  on, else 2 for MARKETPLACE_PHASE2_ENABLED, else 0.

Pure functions over the parsed document, tolerant of malformed content, so
both the validator (``nexus_config``) and the editor (``flag_store``) use
them. Standard library only: runs on the managed host.
"""

from __future__ import annotations

# Order matters: the first effectively-on flag decides the mode.
ACCESS_MODE_FLAGS = (
    ("public_full", "PUBLIC_FULL_LAUNCH_MODE"),
    ("public_soft", "PUBLIC_SOFT_LAUNCH_MODE"),
    ("founder_beta", "FOUNDER_BETA_MODE"),
)
NO_ACCESS_MODE = "none"

# The gateway's /api/pf/marketplace/health: the highest phase whose flag is on.
MARKETPLACE_PHASE_FLAGS = ((3, "MARKETPLACE_PHASE3_ENABLED"), (2, "MARKETPLACE_PHASE2_ENABLED"))


def flag_table(flags):
    """The ``feature_flags`` mapping of a whole store, or ``flags`` itself
    when it already is that mapping (no flag can be called
    ``feature_flags``: names are upper case). ``{}`` for anything else."""
    if not isinstance(flags, dict):
        return {}
    if "feature_flags" in flags:
        table = flags["feature_flags"]
        return table if isinstance(table, dict) else {}
    return flags


def requires_of(flag):
    """The names a flag requires (``[]`` when absent or null), or None when
    the flag or its ``requires`` is malformed."""
    if not isinstance(flag, dict):
        return None
    requires = flag.get("requires")
    if requires is None:
        return []
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return None
    return requires


def effective_flags(flags):
    """``{name: bool}`` for every flag of the store (or its ``feature_flags``)."""
    table = flag_table(flags)
    state = {}

    def resolve(name, visiting):
        if name in state:
            return state[name]
        flag = table.get(name)
        requires = requires_of(flag)
        if name in visiting or requires is None or flag.get("enabled") is not True:
            on = False
        else:
            on = all(dep in table and resolve(dep, visiting | {name}) for dep in requires)
        # A result reached through a cycle is only false for this path; the
        # flag's own answer is worked out when it is resolved directly.
        if name not in visiting:
            state[name] = on
        return on

    for flag_name in table:
        resolve(flag_name, frozenset())
    return state


def flag_effective(flags, name):
    """Whether flag ``name`` is effectively on. Raises KeyError for an
    unknown flag name."""
    table = flag_table(flags)
    if name not in table:
        raise KeyError("unknown flag %r; known flags: %s" % (name, ", ".join(sorted(table))))
    return effective_flags(table)[name]


def access_mode(flags):
    """``public_full``, ``public_soft``, ``founder_beta`` or ``none``."""
    state = effective_flags(flags)
    for mode, flag in ACCESS_MODE_FLAGS:
        if state.get(flag):
            return mode
    return NO_ACCESS_MODE


def marketplace_phase(flags):
    """3, 2 or 0: the phase the gateway's marketplace health reports."""
    state = effective_flags(flags)
    for phase, flag in MARKETPLACE_PHASE_FLAGS:
        if state.get(flag):
            return phase
    return 0


def requires_graph(flags):
    """``{name: sorted names it requires}``, known flags only."""
    table = flag_table(flags)
    return {name: sorted(set(d for d in (requires_of(flag) or []) if d in table))
            for name, flag in table.items()}


def reachable(graph, start):
    """Every name reachable from ``start`` through one or more edges of
    ``graph`` (``start`` itself only if it is on a cycle)."""
    seen, stack = set(), list(graph[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return seen


def _shortest_cycle(graph, start, members):
    parent, queue = {}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in graph[node]:
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start] + path[::-1][1:] + [start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a real cycle member


def find_cycles(flags):
    """Dependency cycles, one per strongly connected group, each a path that
    starts and ends at its alphabetically first flag: ``[A, B, A]``."""
    graph = requires_graph(flags)
    reach = {name: reachable(graph, name) for name in graph}
    cycles, done = [], set()
    for name in sorted(graph):
        if name in done or name not in reach[name]:
            continue
        members = set(m for m in reach[name] if name in reach[m])
        done |= members
        cycles.append(_shortest_cycle(graph, name, members))
    return cycles
