# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Launch approvals, checked on the controller: each approver's secret
against the password hash the inventory keeps for them (passlib), and the
PF's roles covered by distinct people. No secret ever reaches a host, a
result, a log or the audit trail; problems name approvers, never secrets."""

from __future__ import annotations

import json
import os
import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import GLOBAL_PF, ActivationError

# Schemes accepted for approver password hashes. Plain text and the old
# unsalted or weak schemes are refused on purpose.
HASH_SCHEMES = ("pbkdf2_sha256", "pbkdf2_sha512", "sha512_crypt", "sha256_crypt", "bcrypt",
                "bcrypt_sha256", "argon2", "scrypt")
APPROVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _approver_roles(spec):
    roles = spec.get("roles", spec.get("role"))
    if isinstance(roles, str):
        return [roles]
    if isinstance(roles, list) and all(isinstance(r, str) for r in roles):
        return list(roles)
    return None


def passlib_verifier():
    """verify(secret, hash) -> bool, raising ActivationError for a hash
    passlib does not know or cannot check here."""
    try:
        from passlib.context import CryptContext
        from passlib.exc import MissingBackendError
    except ImportError:
        raise ActivationError("passlib is not installed on the controller; install it (pip install passlib) to "
                              "verify launch approvals")
    context = CryptContext(schemes=list(HASH_SCHEMES))

    def verify(secret, hashed):
        try:
            scheme = context.identify(hashed)
        except ValueError:
            scheme = None
        if scheme is None:
            raise ActivationError("not a password hash of an accepted scheme (%s)" % ", ".join(HASH_SCHEMES))
        try:
            return context.verify(secret, hashed)
        except MissingBackendError:
            raise ActivationError("a %s hash, which this controller cannot check (install its backend, e.g. "
                                  "pip install %s)" % (scheme, "bcrypt" if "bcrypt" in scheme else scheme))
        except (ValueError, TypeError) as exc:
            raise ActivationError("a malformed %s hash (%s)" % (scheme, exc))

    return verify


def verify_approvals(approvals, approvers, roles, verify=None):
    """Check the approvals given to a launch run.

    ``approvals``: [{name, secret}]; ``approvers``: the inventory's
    nexus_launch_approvers {NAME: {role|roles, password_hash}}; ``roles``:
    the roles the PF requires, each to be covered by a different approver.
    Returns (approved, problems): approved [{name, role}] (one per role when
    they are all covered), problems [str] (never contain a secret)."""
    verify = verify or passlib_verifier()
    setup, problems = [], []
    if not isinstance(approvers, dict) or not approvers:
        setup.append("nexus_launch_approvers is empty or not a mapping; expected {NAME: {role: ROLE, "
                     "password_hash: HASH}} in the inventory (vaulted)")
        approvers = {}
    if approvals is None:
        approvals = []
    if not isinstance(approvals, list):
        return [], setup + ["nexus_launch_approvals: expected a list of {name, secret}"]
    verified = {}      # name -> roles
    seen = []
    for index, item in enumerate(approvals):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append("nexus_launch_approvals[%d]: expected {name: NAME, secret: SECRET}" % index)
            continue
        name = item["name"].strip()
        if name in seen:
            problems.append("approver %s is given twice; the approvals must come from distinct people" % name)
            continue
        seen.append(name)
        spec = approvers.get(name)
        if spec is None:
            problems.append("approver %s is not in nexus_launch_approvers (known: %s)"
                            % (name, ", ".join(sorted(approvers)) or "none"))
            continue
        roles_of = _approver_roles(spec) if isinstance(spec, dict) else None
        hashed = spec.get("password_hash") if isinstance(spec, dict) else None
        if not roles_of or not isinstance(hashed, str) or not hashed:
            problems.append("nexus_launch_approvers.%s: expected {role: ROLE, password_hash: HASH}" % name)
            continue
        secret = item.get("secret")
        if not isinstance(secret, str) or not secret:
            problems.append("approver %s: no secret given" % name)
            continue
        try:
            ok = verify(secret, hashed)
        except ActivationError as exc:
            problems.append("nexus_launch_approvers.%s.password_hash: %s" % (name, exc))
            continue
        if not ok:
            problems.append("approver %s: the secret does not match nexus_launch_approvers.%s.password_hash"
                            % (name, name))
            continue
        verified[name] = roles_of
    count = len(roles)
    if len(verified) < count:
        setup.append("the launch needs approvals by %d distinct approvers (%s, as %s deployment.team_approval "
                     "says); verified %d%s" % (count, " and ".join(roles), GLOBAL_PF, len(verified),
                                               " (%s)" % ", ".join(sorted(verified)) if verified else ""))
    assignment = _assign_roles(roles, verified)
    if assignment is None:
        missing = [r for r in roles if not any(r in rs for rs in verified.values())]
        for role in missing:
            holders = sorted(n for n, s in approvers.items()
                             if isinstance(s, dict) and role in (_approver_roles(s) or []))
            problems.append("no verified approval from a %s (approvers holding that role: %s)"
                            % (role, ", ".join(holders) or "none"))
        if not missing and len(verified) >= count:
            problems.append("the verified approvers (%s) cannot cover the roles %s with one distinct person "
                            "per role" % (", ".join(sorted(verified)), ", ".join(roles)))
    problems = setup + problems
    if problems:
        return [], problems
    return [{"name": name, "role": role} for role, name in assignment], []


def _assign_roles(roles, verified):
    """[(role, name)] giving each role a different verified approver, or None."""
    names = sorted(verified)

    def search(index, used):
        if index == len(roles):
            return []
        for name in names:
            if name not in used and roles[index] in verified[name]:
                rest = search(index + 1, used | {name})
                if rest is not None:
                    return [(roles[index], name)] + rest
        return None

    return search(0, frozenset())


# ---------------------------------------------------------------- where secrets come from

SECRETS_FILE_ENV = "NEXUS_LAUNCH_APPROVALS_FILE"


def secret_env_name(name):
    return "NEXUS_APPROVER_%s_SECRET" % re.sub(r"[^A-Z0-9]", "_", name.upper())


def resolve_secrets(approvals, environ=None):
    """The approvals with each missing secret filled in from the secrets
    file or the environment. Never raises for a missing secret: the gate
    reports it."""
    environ = os.environ if environ is None else environ
    from_file = {}
    path = environ.get(SECRETS_FILE_ENV)
    if path:
        try:
            with open(path, "r", encoding="utf-8") as handle:
                loaded = json.load(handle)
            if isinstance(loaded, dict):
                from_file = dict((str(k), v) for k, v in loaded.items() if isinstance(v, str))
        except (OSError, ValueError) as exc:
            raise ActivationError("%s=%s: cannot read the approvals file (%s)"
                                  % (SECRETS_FILE_ENV, path, getattr(exc, "strerror", None) or exc))
    out = []
    for item in approvals or []:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            out.append(item)
            continue
        item = dict(item)
        name = item.get("name")
        if isinstance(name, str) and not item.get("secret"):
            secret = from_file.get(name) or environ.get(secret_env_name(name))
            if secret:
                item["secret"] = secret
        out.append(item)
    return out
