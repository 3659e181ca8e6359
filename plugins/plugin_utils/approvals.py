# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Launch approvals, checked on the controller: each approver's secret
against the password hash the inventory keeps for them (passlib), and the
PF's roles covered by distinct people. No secret ever reaches a host, a
result, a log or the audit trail; problems name approvers, never secrets."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time
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
        raise ActivationError("passlib is not installed on the controller; install it (pip install libpass) to "
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
            holders = role_holders(approvers, role)
            problems.append("no verified approval from a %s (approvers holding that role: %s)"
                            % (role, ", ".join(holders) or "none"))
        if not missing and len(verified) >= count:
            problems.append("the verified approvers (%s) cannot cover the roles %s with one distinct person "
                            "per role" % (", ".join(sorted(verified)), ", ".join(roles)))
    problems = setup + problems
    if problems:
        return [], problems
    return [{"name": name, "role": role} for role, name in assignment], []


def role_holders(approvers, role):
    """The names in the registry ``approvers`` holding ``role``, sorted."""
    if not isinstance(approvers, dict):
        return []
    return sorted(n for n, s in approvers.items() if isinstance(s, dict) and role in (_approver_roles(s) or []))


def approvals_needed(approvers, roles):
    """What a launch run needs to be approved, in words, for a preview:
    the roles, who holds each, how to give them. Names only."""
    return ("approvals by %d distinct approvers (%s, as %s deployment.team_approval says), given with nexusctl "
            "launch --approver NAME for each: %s" % (
                len(roles), " and ".join(roles), GLOBAL_PF,
                "; ".join("%s: %s" % (role, ", ".join(role_holders(approvers, role)) or "nobody in "
                                      "nexus_launch_approvers holds it") for role in roles)))


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


def resolve_secrets(approvals, environ=None, from_file=None):
    """The approvals with each missing secret filled in from the approvals
    file's secrets (``from_file``, read_bound_approvals) or the environment.
    Never raises for a missing secret: the gate reports it."""
    environ = os.environ if environ is None else environ
    from_file = from_file or {}
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


# ---------------------------------------------------------------- approvals bound to one run

# An approval is good for one run, for a short while: the approvals file
# names the run it approves, when it was issued and a random nonce; the
# gate records the nonce's hash (APPROVALS_ACCEPTED) and refuses it again.
DEFAULT_MAX_AGE_MINUTES = 15
FUTURE_SLACK_SECONDS = 60        # the controller's clock may step back a little
NONCE = re.compile(r"^[0-9a-f]{32,128}$")
ACCEPTED_EVENT = "APPROVALS_ACCEPTED"
FILE_SHAPE = ('{"issued_at": "%s", "nonce": "<32 or more hex digits>", "run_id": RUN_ID, "secrets": {NAME: SECRET}} '
              "as nexusctl launch writes it" % utc_time.ISO_EXAMPLE)
APPROVE_AGAIN = "approve again (nexusctl launch asks the approvers for this run)"


def new_approvals_file(secrets, run_id, now=None):
    """The approvals file's document for the run ``run_id``."""
    return {"issued_at": utc_time.iso_utc(now), "nonce": os.urandom(16).hex(), "run_id": run_id,
            "secrets": dict(secrets)}


def nonce_hash(nonce):
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def used_nonces(runs):
    """{nonce hash: run id} of the approvals the trail's runs accepted
    (activation_info's runs, summarize_run's approvals_nonce)."""
    return dict((r["approvals_nonce"], r.get("run_id") or "?") for r in runs or []
                if isinstance(r, dict) and r.get("approvals_nonce"))


def _open_private(path, shown):
    """The file's text, when it is a regular file of the controller's user
    that no one else can read or write; else ActivationError with the fix."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ActivationError("%s: cannot read the approvals file (%s)" % (shown, exc.strerror or exc))
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        uid = os.geteuid()
        if not stat.S_ISREG(info.st_mode):
            raise ActivationError("%s is not a regular file; expected a file of your own, mode 0600" % shown)
        if info.st_uid != uid:
            raise ActivationError("%s is owned by uid %d, not by uid %d that runs the controller; expected a file of "
                                  "your own, mode 0600: write it again as that user, then chmod 600 %s"
                                  % (shown, info.st_uid, uid, path))
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ActivationError("%s is mode %04o, open to group or others; expected 0600 (only its owner): "
                                  "chmod 600 %s" % (shown, mode, path))
        try:
            return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ActivationError("%s: cannot read the approvals file (%s)" % (shown, exc))


def read_bound_approvals(run_id, used, max_age_minutes=DEFAULT_MAX_AGE_MINUTES, now=None, environ=None):
    """(secrets {NAME: SECRET}, accepted fields for APPROVALS_ACCEPTED) from
    the approvals file named by NEXUS_LAUNCH_APPROVALS_FILE, checked to be
    private, to approve run ``run_id``, issued at most ``max_age_minutes``
    ago by the controller's clock, and not already used (``used``:
    used_nonces). Raises ActivationError naming the file; never shows a
    secret or the nonce."""
    environ = os.environ if environ is None else environ
    path = environ.get(SECRETS_FILE_ENV)
    if not path:
        raise ActivationError("no approvals file: approvals are bound to the run they approve and expire; "
                              "nexusctl launch --approver NAME writes one for its run, or set %s to a file of yours "
                              "(mode 0600) holding %s, and give the same run id with -e nexus_run_id=RUN_ID"
                              % (SECRETS_FILE_ENV, FILE_SHAPE))
    shown = "%s=%s" % (SECRETS_FILE_ENV, path)
    text = _open_private(path, shown)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ActivationError("%s: not JSON (%s); expected %s" % (shown, str(exc).split(":", maxsplit=1)[0], FILE_SHAPE))
    if not isinstance(document, dict) or not all(k in document for k in ("issued_at", "nonce", "run_id")):
        raise ActivationError("%s has no issued_at, nonce and run_id; approvals are bound to one run and expire: "
                              "expected %s" % (shown, FILE_SHAPE))
    secrets, nonce, bound = document.get("secrets", {}), document["nonce"], document["run_id"]
    if not isinstance(secrets, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()):
        raise ActivationError("%s: secrets is not a mapping of approver names to secrets; expected %s" % (shown, FILE_SHAPE))
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise ActivationError("%s: nonce is not 32 to 128 lowercase hex digits; expected %s" % (shown, FILE_SHAPE))
    if not isinstance(bound, str) or bound != run_id:
        raise ActivationError("%s approves run %s, not this run %s; approvals are bound to the run they approve: %s"
                              % (shown, bound, run_id, APPROVE_AGAIN))
    try:
        issued = utc_time.parse_iso(document["issued_at"]).timestamp()
    except ValueError as exc:
        raise ActivationError("%s: issued_at: %s" % (shown, exc))
    now = utc_time.epoch(now)
    if issued > now + FUTURE_SLACK_SECONDS:
        raise ActivationError("%s was issued at %s, %d s after the controller's clock (%s); expected a time no later "
                              "than now" % (shown, utc_time.iso_utc(issued), issued - now, utc_time.iso_utc(now)))
    if now - issued > max_age_minutes * 60:
        raise ActivationError("%s was issued at %s, %d minutes ago; approvals expire after %g minutes "
                              "(activation_gate_approval_max_age_minutes): %s"
                              % (shown, utc_time.iso_utc(issued), (now - issued) // 60, max_age_minutes, APPROVE_AGAIN))
    digest = nonce_hash(nonce)
    if digest in used:
        raise ActivationError("%s: these approvals were already used by run %s (%s in its audit trail); an approval is "
                              "good for one run: %s" % (shown, used[digest], ACCEPTED_EVENT, APPROVE_AGAIN))
    return dict(secrets), {"nonce_sha256": digest, "issued_at": utc_time.iso_utc(issued)}
