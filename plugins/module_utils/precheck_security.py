# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 11: the TLS certificate nginx should serve (present, in date,
matching its key, actually served) and the privacy of the key and of the
audit directory with its rollback files.

Every finding is collected and reported together, so one run shows the
operator everything to fix. The private key is only ever read by
``openssl pkey -pubout``; nothing of it reaches the output.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import ssl
import stat
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils.precheck import (
    Check, CheckFailed, register)

DAY = 86400
TLS_TIMEOUT = 5.0
LISTED_FILES = 10
MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
PEM_PUBKEY = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def cert_argv(path):
    return ["openssl", "x509", "-in", path, "-noout", "-subject", "-startdate", "-enddate", "-pubkey"]


def key_argv(path):
    # An empty pass phrase: an encrypted key fails at once instead of prompting.
    return ["openssl", "pkey", "-in", path, "-pubout", "-passin", "pass:"]


def parse_openssl_date(value):
    """``Jan 15 10:30:45 2027 GMT`` (openssl's fixed English format) to epoch
    seconds; locale-independent, unlike strptime's %b."""
    parts = value.split()
    if len(parts) != 5 or parts[0] not in MONTHS or parts[4] != "GMT":
        raise ValueError("unexpected openssl date %r" % value)
    hour, minute, second = (int(p) for p in parts[2].split(":"))
    return calendar.timegm((int(parts[3]), MONTHS[parts[0]], int(parts[1]), hour, minute, second))


def utc(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


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
            for _, hint in findings:
                if hint not in hints:
                    hints.append(hint)
            raise CheckFailed("; ".join(msg for msg, _ in findings), hint="; ".join(hints),
                              details=self.evidence, level="error" if self.errors else "warn")
        ev = self.evidence
        ev["summary"] = "certificate %s valid until %s, key matches, served at %s; audit dir %s, %d file(s) private" % (
            cert["subject"] or self.ctx.param("cert"), ev["not_after"], ev["endpoint"],
            ev.get("audit_dir_mode", "absent"), ev.get("audit_files", 0))
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
            not_after = parse_openssl_date(fields["notAfter"])
            not_before = parse_openssl_date(fields["notBefore"]) if "notBefore" in fields else None
        except ValueError as exc:
            self.error("TLS certificate %s: %s; expected openssl's 'Mon DD HH:MM:SS YYYY GMT'" % (path, exc),
                       "check the openssl on the host (openssl version)")
            return None
        now = host.now()
        days_left = int((not_after - now) // DAY)
        self.evidence.update(subject=fields.get("subject", ""), not_after=utc(not_after),
                             days_left=days_left, sha256=fingerprint)
        renew = "renew the certificate (certbot renew, or your CA), install it at %s and reload nginx" % path
        if now >= not_after:
            self.error("TLS certificate %s expired on %s; expected a valid certificate" % (path, utc(not_after)),
                       renew)
        elif not_before is not None and now < not_before:
            self.error("TLS certificate %s is not valid before %s; expected a certificate valid now"
                       % (path, utc(not_before)),
                       "check the host clock (timedatectl) or install a certificate valid now")
        elif days_left < self.ctx.param("cert_min_days"):
            self.warnings.append((
                "TLS certificate %s expires in %d day(s), on %s; expected at least %d day(s)"
                % (path, days_left, utc(not_after), self.ctx.param("cert_min_days")),
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
        st = host.stat(audit_dir)
        if st is None:
            # Nothing written yet, so nothing exposed; the run creates it 0750.
            self.evidence["audit_dir_mode"] = "absent"
            return
        self.evidence["audit_dir_mode"] = mode_text(st)
        if st.st_mode & 0o007:
            self.error("audit directory %s is accessible by others (mode %s); expected no access for others"
                       % (audit_dir, mode_text(st)),
                       "chmod o-rwx %s" % audit_dir)
        exposed, checked = [], 0
        for name in host.listdir(audit_dir) or []:
            fst = host.stat(os.path.join(audit_dir, name))
            if fst is None or not stat.S_ISREG(fst.st_mode):
                continue
            checked += 1
            if fst.st_mode & 0o007:
                exposed.append("%s (%s)" % (name, mode_text(fst)))
        self.evidence["audit_files"] = checked
        if exposed:
            listed = exposed[:LISTED_FILES]
            more = len(exposed) - len(listed)
            self.error("%d file(s) in %s accessible by others: %s%s; expected no access for others"
                       % (len(exposed), audit_dir, ", ".join(listed), ", and %d more" % more if more else ""),
                       "chmod o-rwx %s/*" % audit_dir)
