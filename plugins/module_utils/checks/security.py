# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 11: the TLS certificate nginx should serve (present, in date,
matching its key, actually served) and the privacy of the key and of the
audit directory with its rollback files.

Every finding is collected and reported together, so one run shows the
operator everything to fix. The private key is only ever read by
``openssl pkey -pubout``; nothing of it reaches the output.

The audit directory is shared with the platform's own deploy script
(deploy-phase-4-full-launch.sh), which leaves its console logs, precheck
logs (0644) and rollback scripts (0755) there under the default umask.
Those files are told apart (audit_log.foreign_reason: by name and, for
files named like chain files, by content) and judged for what they are:

* a file of this collection open to others: error. Our writers create every
  file 0640/0750, so such a mode means something changed it; the fix names
  exactly those files.
* the directory, or one above it, not root's alone (another owner, writable
  by a group or by everyone, a symlink): error naming the component, what
  it is and the fix (trusted_path, the one rule); its files are then not
  judged: anyone could remove or plant files in the audit trail and in the
  scripts root runs from it.
* the directory open to others otherwise: warning. Our files stay private
  whatever the directory's mode; what an open directory exposes is file
  names, and the other tool's world-readable files.
* another tool's files readable by others through an open directory:
  warning, naming each file. They are another tool's logs, not this
  collection's records, and reading them gives no one control of anything:
  worth fixing, not worth stopping a launch. The fix is ``chmod o-rwx`` on
  the directory, which closes them to others while keeping their bytes,
  modes and names exactly as the platform left them (a chmod of the files
  would change their modes; moving them would take them from where the
  platform's own tooling and its logs point).
* unless one of them looks like it holds a secret (``password=...``,
  ``token: ...``, the secret names audit_log refuses as field keys): then
  it is an error, naming the file and line, never the value.
* another tool's files behind a closed directory expose nothing: noted in
  the summary only.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import stat

from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import (
    SECRET_KEY_PARTS, foreign_reason, platform_file)
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import ProbeError
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register
from ansible_collections.nexus_cos.launch.plugins.module_utils.trusted_path import problem_text
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import parse_openssl_time, seconds_utc

DAY = 86400
TLS_TIMEOUT = 5.0
LISTED_FILES = 10
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
PEM_PUBKEY = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
# Another tool's file is read to tell what it is and whether it holds a secret.
FOREIGN_READ_LIMIT = 16 * 1024 * 1024
# name=value or name: value where the name contains a secret's name and the
# value is long enough to be one (not "none", not a masked "****").
SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*(?:%s)[A-Za-z0-9_.-]*)[ \t]*[=:][ \t]*[\"']?(?!\*+\b)[^\s\"'*]{6,}"
    % "|".join(part.replace("_", "[_-]?") for part in SECRET_KEY_PARTS))


def cert_argv(path):
    return ["openssl", "x509", "-in", path, "-noout", "-subject", "-startdate", "-enddate", "-pubkey"]


def key_argv(path):
    # An empty pass phrase: an encrypted key fails at once instead of prompting.
    return ["openssl", "pkey", "-in", path, "-pubout", "-passin", "pass:"]


def parse_x509_text(text):
    """The fields ``cert_argv`` prints: subject, not_before/not_after (epoch),
    the raw dates, and the public key PEM."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("subject", "notBefore", "notAfter"):
            out[key] = value.strip()
    key = PEM_PUBKEY.search(text)
    out["pubkey"] = normalize_pem(key.group(0)) if key else ""
    return out


def normalize_pem(text):
    return "".join(text.split())


def pem_fingerprint(pem_text):
    """SHA-256 of the first certificate in a PEM file (a leaf plus chain
    file is what nginx's ssl_certificate usually holds)."""
    match = PEM_CERT.search(pem_text or "")
    if not match:
        return None
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(match.group(0))).hexdigest()


def split_endpoint(endpoint):
    """``127.0.0.1:443``, ``[::1]:443`` or ``host`` (443)."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit() or "]" in port:
        host, port = endpoint, "443"
    return host.strip("[]"), int(port)


def mode_text(st):
    return "%04o" % stat.S_IMODE(st.st_mode)


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


@register
class SecurityCheck(Check):
    name = "security"
    number = 11
    title = "Security"

    def run(self, ctx):
        self.ctx = ctx
        self.errors, self.warnings = [], []
        self.evidence = {"certificate": ctx.param("cert"), "key": ctx.param("key")}
        cert = self.certificate()
        self.key(cert)
        if cert:
            self.served(cert)
        self.audit_permissions()

        findings = self.errors + self.warnings
        if findings:
            hints = []
            for dummy, hint in findings:
                if hint not in hints:
                    hints.append(hint)
            raise CheckFailed("; ".join(msg for msg, dummy in findings), hint="; ".join(hints),
                              details=self.evidence, level="error" if self.errors else "warn")
        ev = self.evidence
        ev["summary"] = "certificate %s valid until %s, key matches, served at %s; audit dir %s, %d file(s) private" % (
            cert["subject"] or self.ctx.param("cert"), ev["not_after"], ev["endpoint"],
            ev.get("audit_dir_mode", "absent"), ev.get("audit_files", 0))
        if ev.get("foreign_note"):
            ev["summary"] += "; " + ev["foreign_note"]
        return ev

    def error(self, msg, hint):
        self.errors.append((msg, hint))

    def certificate(self):
        """Read the certificate; None when it cannot be, with the reason recorded."""
        host, path = self.ctx.host, self.ctx.param("cert")
        if host.stat(path) is None:
            self.error("TLS certificate %s not found; expected the certificate nginx serves" % path,
                       "install the certificate there, or set precheck_security_cert to the one nginx uses")
            return None
        if host.which("openssl") is None:
            self.error("openssl not found on the host; expected it to inspect %s" % path,
                       "install openssl (apt-get install openssl)")
            return None
        rc, out, err = host.command(cert_argv(path), timeout=20)
        fields = parse_x509_text(out) if rc == 0 else {}
        fingerprint = pem_fingerprint(host.read_text(path)) if rc == 0 else None
        if rc != 0 or "notAfter" not in fields or not fingerprint:
            self.error("TLS certificate %s could not be read (%s); expected a PEM certificate"
                       % (path, first_line(err) or "no notAfter or PEM block"),
                       "replace %s with the PEM certificate nginx should serve" % path)
            return None
        try:
            not_after = parse_openssl_time(fields["notAfter"])
            not_before = parse_openssl_time(fields["notBefore"]) if "notBefore" in fields else None
        except ValueError as exc:
            self.error("TLS certificate %s: %s; expected openssl's 'Mon DD HH:MM:SS YYYY GMT'" % (path, exc),
                       "check the openssl on the host (openssl version)")
            return None
        now = host.now()
        days_left = int((not_after - now) // DAY)
        self.evidence.update(subject=fields.get("subject", ""), not_after=seconds_utc(not_after),
                             days_left=days_left, sha256=fingerprint)
        renew = "renew the certificate (certbot renew, or your CA), install it at %s and reload nginx" % path
        if now >= not_after:
            self.error("TLS certificate %s expired on %s; expected a valid certificate" % (path, seconds_utc(not_after)),
                       renew)
        elif not_before is not None and now < not_before:
            self.error("TLS certificate %s is not valid before %s; expected a certificate valid now"
                       % (path, seconds_utc(not_before)),
                       "check the host clock (timedatectl) or install a certificate valid now")
        elif days_left < self.ctx.param("cert_min_days"):
            self.warnings.append((
                "TLS certificate %s expires in %d day(s), on %s; expected at least %d day(s)"
                % (path, days_left, seconds_utc(not_after), self.ctx.param("cert_min_days")),
                renew + ", or lower precheck_security_cert_min_days"))
        return {"subject": fields.get("subject", ""), "pubkey": fields["pubkey"], "sha256": fingerprint}

    def key(self, cert):
        host, path = self.ctx.host, self.ctx.param("key")
        st = host.stat(path)
        if st is None:
            self.error("TLS key %s not found; expected the private key of %s" % (path, self.ctx.param("cert")),
                       "install the key there, or set precheck_security_key to the one nginx uses")
            return
        self.evidence["key_mode"] = mode_text(st)
        if st.st_mode & 0o077:
            self.error("TLS key %s is accessible by group or others (mode %s); expected 0600"
                       % (path, mode_text(st)),
                       "chmod 600 %s (nginx reads it as root)" % path)
        if cert is None:
            return
        rc, out, err = host.command(key_argv(path), timeout=20)
        pubkey = PEM_PUBKEY.search(out) if rc == 0 else None
        if pubkey is None:
            self.error("TLS key %s could not be read (%s); expected an unencrypted PEM private key"
                       % (path, first_line(err) or "no public key derived"),
                       "install the unencrypted key nginx uses at %s" % path)
        elif normalize_pem(pubkey.group(0)) != cert["pubkey"]:
            self.error("TLS key %s does not match certificate %s (public keys differ); expected the "
                       "certificate's key pair" % (path, self.ctx.param("cert")),
                       "install the key that belongs to the certificate (or the certificate for this key)")
        else:
            self.evidence["key_matches"] = True

    def served(self, cert):
        endpoint = self.ctx.param("tls_endpoint")
        server_name = self.ctx.params.get("tls_server_name") or None
        self.evidence["endpoint"] = endpoint
        address, port = split_endpoint(endpoint)
        der, reason = self.ctx.host.tls_peer_cert_der(address, port, TLS_TIMEOUT, server_name)
        if der is None:
            self.error("nothing serves TLS at %s (%s); expected nginx to serve %s"
                       % (endpoint, reason, self.ctx.param("cert")),
                       "start nginx (systemctl start nginx) with a 'listen 443 ssl' server, "
                       "or set precheck_security_tls_endpoint")
            return
        served = hashlib.sha256(der).hexdigest()
        self.evidence["served_sha256"] = served
        if served != cert["sha256"]:
            self.error("%s serves a different certificate (sha256 %s) than %s (sha256 %s); expected the "
                       "file's certificate" % (endpoint, served[:16], self.ctx.param("cert"), cert["sha256"][:16]),
                       "point ssl_certificate at %s and reload nginx (nginx -t && systemctl reload nginx), "
                       "or set precheck_security_tls_server_name if the site needs SNI" % self.ctx.param("cert"))

    def audit_permissions(self):
        host, audit_dir = self.ctx.host, self.ctx.param("audit_dir")
        untrusted = host.untrusted(audit_dir)
        if untrusted:
            # Whoever else controls it or a directory above it can remove or
            # plant files in the trail, and the scripts root runs from it:
            # its content is not judged (nor read) until that is fixed.
            self.evidence["audit_dir_untrusted"] = untrusted[0]
            self.error(problem_text("audit directory", audit_dir, untrusted) +
                       " (anyone who can write it can remove or plant files in the audit trail and the scripts "
                       "root runs)", untrusted[2])
            return
        st = host.stat(audit_dir)
        if st is None:
            # Nothing written yet, so nothing exposed; the run creates it 0750.
            self.evidence["audit_dir_mode"] = "absent"
            return
        dir_mode = mode_text(st)
        self.evidence["audit_dir_mode"] = dir_mode
        ours, exposed, foreign, untrusted_files = 0, [], [], []
        for name in host.listdir(audit_dir) or []:
            path = os.path.join(audit_dir, name)
            fst = host.stat(path)
            if fst is None or not stat.S_ISREG(fst.st_mode):
                continue
            reason = foreign_reason(name, lambda: self._read(path))  # read only when the content decides
            if reason:
                foreign.append((name, fst, reason))
            else:
                ours += 1
                loose = host.untrusted(path)
                if loose:
                    untrusted_files.append(loose)
                elif fst.st_mode & 0o007:
                    exposed.append((name, fst))
        self.evidence["audit_files"] = ours
        if untrusted_files:
            self.error("%d file(s) of this collection in %s are not root's alone: %s; expected each owned by root, "
                       "writable by root alone and not a symlink (root reads the trail and runs the scripts)"
                       % (len(untrusted_files), audit_dir, ", ".join("%s (%s)" % (os.path.basename(path), found)
                                                                     for path, found, dummy in untrusted_files)),
                       "; ".join(fix for dummy, dummy, fix in untrusted_files))
        if exposed:
            self.error("%d file(s) in %s accessible by others: %s; expected no access for others"
                       % (len(exposed), audit_dir, listed(exposed)),
                       "chmod o-rwx %s" % " ".join(os.path.join(audit_dir, name) for name, dummy in exposed))
        if foreign:
            self.evidence["foreign_files"] = ["%s (%s): %s" % (name, mode_text(fst), reason)
                                              for name, fst, reason in foreign]
        author = "the platform's deploy script" if all(platform_file(f[0]) for f in foreign) else "another tool"
        readable = [(name, fst) for name, fst, dummy in foreign if fst.st_mode & 0o007] if st.st_mode & 0o001 else []
        if readable:
            self.foreign_readable(audit_dir, dir_mode, readable, author)
        elif st.st_mode & 0o007 and not st.st_mode & 0o002:
            self.warnings.append(("audit directory %s is open to others (mode %s); expected no access for others"
                                  % (audit_dir, dir_mode), "chmod o-rwx %s" % audit_dir))
        if foreign and not readable:
            self.evidence["foreign_note"] = ("%d file(s) of %s kept as they are, not readable by others"
                                             % (len(foreign), author))

    def foreign_readable(self, audit_dir, dir_mode, readable, author):
        secrets = []
        for name, dummy in readable:
            found = secret_in(self._read(os.path.join(audit_dir, name)))
            if found:
                secrets.append((name,) + found)
        hint = ("chmod o-rwx %s closes the directory%s: the files keep their bytes, modes and names (do not chmod, "
                "move or delete them: they are %s's records)"
                % (audit_dir, "; then rotate the secret(s) found" if secrets else "", author))
        for name, line, key in secrets:
            self.error("%s in %s (left by %s) is readable by others and line %d looks like it holds a secret (%s=...); "
                       "expected no secret readable by others" % (name, audit_dir, author, line, key), hint)
        self.warnings.append((
            "audit directory %s is open to others (mode %s), so %d file(s) %s left there are readable by others: "
            "%s; they are that tool's records, not this collection's and not part of the audit chain; expected no "
            "access for others" % (audit_dir, dir_mode, len(readable), author, listed(readable)), hint))

    def _read(self, path):
        try:
            return self.ctx.host.read_bytes(path, FOREIGN_READ_LIMIT)
        except (OSError, ProbeError):
            return None


def listed(files):
    shown = ["%s (%s)" % (name, mode_text(fst)) for name, fst in files[:LISTED_FILES]]
    more = len(files) - len(shown)
    return ", ".join(shown) + (", and %d more" % more if more else "")


def secret_in(data):
    """(line number, name) of the first line that looks like it assigns a
    secret, or None. The value is never returned."""
    if not data:
        return None
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        match = SECRET_ASSIGNMENT.search(line)
        if match:
            return number, match.group(1)
    return None
