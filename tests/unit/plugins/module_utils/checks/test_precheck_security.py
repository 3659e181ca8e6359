"""Precheck 11 (security): real throwaway certificates made with openssl,
a fake host around them, and the real TLS probe against a local server."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.security import (DAY, cert_argv, key_argv,
                                                                                       pem_fingerprint, secret_in,
                                                                                       split_endpoint)
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import parse_openssl_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import seconds_utc as utc

from ansible_collections.nexus_cos.launch.tests.unit.utils import platform_leftovers
from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost, stat_result
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import assert_defaults_match

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

CRT = "/etc/nginx/ssl/nexus-cos.crt"
KEY = "/etc/nginx/ssl/nexus-cos.key"
AUDIT = "/var/log/nexus-cos/phase4-audit"
ENDPOINT = ("127.0.0.1", 443)
ROLE = repo_paths.role("precheck_security")
PARAMS = {"cert": CRT, "key": KEY, "cert_min_days": 30, "tls_endpoint": "127.0.0.1:443", "tls_server_name": "",
          "audit_dir": AUDIT}


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Throwaway pairs: a 400-day certificate, a 1-day one (expired once the
    fake clock moves), and a second key that matches neither."""
    d = tmp_path_factory.mktemp("pki")
    out = {}
    for name, days in (("good", 400), ("short", 1)):
        crt, key = str(d / (name + ".crt")), str(d / (name + ".key"))
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                "-days", str(days), "-subj", "/CN=nexus-cos.test")
        out[name] = (crt, key)
    out["other_key"] = str(d / "other.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out["other_key"])
    return out


def der_of(crt):
    with open(crt) as handle:
        return ssl.PEM_cert_to_DER_cert(handle.read())


def not_after(crt):
    return parse_openssl_time(run(["openssl", "x509", "-in", crt, "-noout", "-enddate"])[1].split("=", 1)[1].strip())


def make_host(pki, pair="good", key_file=None, key_mode=0o100600, served=None, audit_mode=0o040750,
              audit_files=None):
    crt, key = pki[pair]
    key = key_file or key
    with open(crt) as handle:
        pem = handle.read()
    audit_files = {"deployment-1.log": 0o100640, "rollback-1.sh": 0o100750} if audit_files is None else audit_files
    stats = {CRT: stat_result(0o100644), KEY: stat_result(key_mode), AUDIT: stat_result(audit_mode)}
    stats.update({os.path.join(AUDIT, name): stat_result(mode) for name, mode in audit_files.items()})
    host = FakeHost(files={CRT: pem}, stats=stats, dirs={AUDIT: sorted(audit_files)},
                    commands={tuple(cert_argv(CRT)): run(cert_argv(crt)), tuple(key_argv(KEY)): run(key_argv(key))})
    host.tls_certs = {ENDPOINT: der_of(crt) if served is None else served}
    return host


def security(host, **params):
    return run_checks({"security": {"severity": "error", "params": dict(PARAMS, **params)}}, host)[0]


def test_good_certificate_passes(pki):
    r = security(make_host(pki))
    assert r["status"] == "PASS", r
    assert r["msg"] == ("certificate CN = nexus-cos.test valid until %s, key matches, served at 127.0.0.1:443; "
                        "audit dir 0750, 2 file(s) private" % utc(not_after(pki["good"][0])))
    assert r["details"]["sha256"] == hashlib.sha256(der_of(pki["good"][0])).hexdigest()
    assert r["details"]["key_matches"] is True


def test_key_material_never_reaches_the_result(pki):
    r = security(make_host(pki))
    with open(pki["good"][1]) as handle:
        key_body = handle.read().split("-----")[2].split()[0]
    assert key_body not in repr(r)
    assert "PRIVATE KEY" not in repr(r)


def test_expired_certificate_fails_naming_the_date(pki):
    host = make_host(pki, "short")
    end = not_after(pki["short"][0])
    host.now = lambda: end + 2 * DAY
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"] == "TLS certificate %s expired on %s; expected a valid certificate" % (CRT, utc(end))
    assert "renew" in r["hint"]


def test_certificate_expiring_soon_warns(pki):
    host = make_host(pki)
    end = not_after(pki["good"][0])
    host.now = lambda: end - 5.5 * DAY
    r = security(host)
    assert r["status"] == "WARN"
    assert r["msg"] == "TLS certificate %s expires in 5 day(s), on %s; expected at least 30 day(s)" % (CRT, utc(end))
    assert "precheck_security_cert_min_days" in r["hint"]


def test_certificate_not_yet_valid_fails(pki):
    host = make_host(pki)
    host.now = lambda: not_after(pki["good"][0]) - 500 * DAY
    r = security(host)
    assert r["status"] == "FAIL" and r["msg"].startswith("TLS certificate %s is not valid before " % CRT)


def test_mismatched_key_fails(pki):
    r = security(make_host(pki, key_file=pki["other_key"]))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("TLS key %s does not match certificate %s (public keys differ); expected the certificate's "
                        "key pair" % (KEY, CRT))


def test_key_readable_by_others_fails(pki):
    r = security(make_host(pki, key_mode=0o100644))
    assert r["msg"] == "TLS key %s is accessible by group or others (mode 0644); expected 0600" % KEY
    assert "chmod 600" in r["hint"]


def test_certificate_not_served_fails(pki):
    r = security(make_host(pki, served="Connection refused"))
    assert r["msg"] == ("nothing serves TLS at 127.0.0.1:443 (Connection refused); expected nginx to serve %s" % CRT)
    assert "precheck_security_tls_endpoint" in r["hint"]


def test_a_different_served_certificate_fails(pki):
    served = der_of(pki["short"][0])
    r = security(make_host(pki, served=served))
    assert r["msg"] == ("127.0.0.1:443 serves a different certificate (sha256 %s) than %s (sha256 %s); expected the "
                        "file's certificate" % (hashlib.sha256(served).hexdigest()[:16], CRT,
                                                hashlib.sha256(der_of(pki["good"][0])).hexdigest()[:16]))
    assert "systemctl reload nginx" in r["hint"]


def test_world_readable_audit_files_of_ours_fail_naming_each(pki):
    r = security(make_host(pki, audit_mode=0o040755,
                           audit_files={"rollback-1.sh": 0o100755, "deployment-1.log": 0o100644,
                                        "precheck-1.log": 0o100640}))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("2 file(s) in %s accessible by others: deployment-1.log (0644), rollback-1.sh (0755); "
                        "expected no access for others; audit directory %s is open to others (mode 0755); "
                        "expected no access for others" % (AUDIT, AUDIT))
    assert r["hint"] == "chmod o-rwx %s/deployment-1.log %s/rollback-1.sh; chmod o-rwx %s" % (AUDIT, AUDIT, AUDIT)


def test_an_open_audit_dir_alone_warns(pki):
    """Our files are 0640 whatever the directory: an open one exposes names."""
    r = security(make_host(pki, audit_mode=0o040755))
    assert r["status"] == "WARN"
    assert r["msg"] == "audit directory %s is open to others (mode 0755); expected no access for others" % AUDIT
    assert r["hint"] == "chmod o-rwx %s" % AUDIT


def test_an_audit_dir_writable_by_others_fails(pki):
    r = security(make_host(pki, audit_mode=0o040777))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("audit directory %s is writable by every user (mode 0777); expected it and every directory "
                        "above it owned by root, writable by root alone and not a symlink (anyone who can write it "
                        "can remove or plant files in the audit trail and the scripts root runs)" % AUDIT)
    assert r["hint"] == "chown root:root %s && chmod 0750 %s" % (AUDIT, AUDIT)


# ---------------------------------------------------------------- the platform script's files

OURS = {"deployment-20260115T103045Z.log": 0o100640, "precheck-20260115T103045Z.log": 0o100640,
        "rollback-20260115T103045Z.sh": 0o100750, ".audit-head.json": 0o100640}
PLATFORM = {name: 0o100000 | mode for name, mode in platform_leftovers.AUDIT_FILES.items()}
PLATFORM_LISTED = ("deployment-20250101-101010.log (0644), deployment-20250102-093000.log (0644), "
                   "precheck-20250101-101010.log (0644), precheck-20250102-093000.log (0644), "
                   "rollback-20250101-101010.sh (0755)")
CLOSES = ("chmod o-rwx %s closes the directory: the files keep their bytes, modes and names (do not chmod, move or "
          "delete them: they are the platform's deploy script's records)" % AUDIT)


def leftover_host(pki, audit_mode, ours=None, contents=None):
    host = make_host(pki, audit_mode=audit_mode, audit_files=dict(OURS if ours is None else ours, **PLATFORM))
    for name in PLATFORM:
        host.files[os.path.join(AUDIT, name)] = (contents or {}).get(name, platform_leftovers.read(name))
    return host


def test_the_platform_scripts_files_behind_an_open_directory_warn_naming_each(pki):
    r = security(leftover_host(pki, 0o040755))
    assert r["status"] == "WARN"
    assert r["msg"] == (
        "audit directory %s is open to others (mode 0755), so 5 file(s) the platform's deploy script left there are "
        "readable by others: %s; they are that tool's records, not this collection's and not part of the audit "
        "chain; expected no access for others" % (AUDIT, PLATFORM_LISTED))
    assert r["hint"] == CLOSES
    assert r["details"]["audit_files"] == 4
    assert r["details"]["foreign_files"][0] == (
        "deployment-20250101-101010.log (0644): console log of the platform's deploy script "
        "(deploy-phase-4-full-launch.sh): no line carries run=, seq=, prev= or chain= (41 lines, 15 unchained "
        "[AUDIT] records)")


def test_the_platform_scripts_files_behind_a_closed_directory_expose_nothing(pki):
    r = security(leftover_host(pki, 0o040750))
    assert r["status"] == "PASS", r
    assert r["msg"].endswith("audit dir 0750, 4 file(s) private; 5 file(s) of the platform's deploy script kept "
                             "as they are, not readable by others")


def test_our_exposed_file_fails_and_the_fix_leaves_the_platform_files_alone(pki):
    r = security(leftover_host(pki, 0o040755, ours={"deployment-20260115T103045Z.log": 0o100644}))
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("1 file(s) in %s accessible by others: deployment-20260115T103045Z.log (0644); "
                               "expected no access for others; audit directory %s is open to others (mode 0755), "
                               "so 5 file(s) the platform's deploy script left" % (AUDIT, AUDIT))
    assert r["hint"] == "chmod o-rwx %s/deployment-20260115T103045Z.log; %s" % (AUDIT, CLOSES)


def test_a_renamed_chain_file_is_ours_whatever_its_name(pki):
    """A file named like the platform's log but carrying chain records is a
    chain file: exposed, it is our file exposed."""
    record = ("[AUDIT] 2026-01-15 10:30:45 LOCK_ACQUIRED run=r seq=1 pid=1 timestamp=1 prev=%s chain=%s\n"
              % ("0" * 64, "1" * 64)).encode()
    r = security(leftover_host(pki, 0o040750, contents={"deployment-20250101-101010.log": record}))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("1 file(s) in %s accessible by others: deployment-20250101-101010.log (0644); expected no "
                        "access for others" % AUDIT)


def test_a_readable_platform_file_holding_a_secret_fails_naming_the_line_not_the_value(pki):
    log = platform_leftovers.read("deployment-20250102-093000.log").replace(
        b"[AUDIT] 2025-01-02 09:30:01 PRECHECK_START", b"[2025-01-02 09:30:01] [INFO] DB_PASSWORD=Xk2pLq9vTz")
    r = security(leftover_host(pki, 0o040755, contents={"deployment-20250102-093000.log": log}))
    assert r["status"] == "FAIL"
    assert r["msg"].startswith(
        "deployment-20250102-093000.log in %s (left by the platform's deploy script) is readable by others and line 11 "
        "looks like it holds a secret (DB_PASSWORD=...); expected no secret readable by others; " % AUDIT)
    assert "Xk2pLq9vTz" not in repr(r)
    assert r["hint"] == CLOSES.replace(" closes the directory:", " closes the directory; then rotate the secret(s) found:")


@pytest.mark.parametrize("line, found", [
    ("DB_PASSWORD=Xk2pLq9vTz", "DB_PASSWORD"),
    ("export PGPASSWORD='hunter22'", "PGPASSWORD"),
    ("  api-key: 0123456789abcdef", "api-key"),
    ("[AUDIT] 2025-01-01 10:10:10 LOGIN token=eyJhbGciOiJIUzI1NiJ9", "token"),
    ("jwt_secret = supersecretvalue", "jwt_secret"),
    ("Checking secrets: none", None),            # too short to be one
    ("password=******", None),                    # masked
    ("[INFO] rotate the api token tomorrow", None),
    ("[AUDIT] 2025-01-01 10:10:10 PRECHECK_OS os=ubuntu version=22.04", None),
])
def test_secret_in(line, found):
    result = secret_in((line + "\n").encode())
    assert (result[1] if result else None) == found


def test_absent_audit_dir_exposes_nothing(pki):
    host = make_host(pki)
    del host.stats[AUDIT]
    r = security(host)
    assert r["status"] == "PASS" and r["details"]["audit_dir_mode"] == "absent"


def test_missing_certificate_and_key_fail_together(pki):
    host = make_host(pki)
    del host.stats[CRT], host.stats[KEY]
    r = security(host)
    assert r["msg"] == ("TLS certificate %s not found; expected the certificate nginx serves; "
                        "TLS key %s not found; expected the private key of %s" % (CRT, KEY, CRT))


def test_unreadable_certificate_fails(pki, tmp_path):
    bad = tmp_path / "bad.crt"
    bad.write_text("not a certificate\n")
    host = make_host(pki)
    host.commands[tuple(cert_argv(CRT))] = run(cert_argv(str(bad)))
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("TLS certificate %s could not be read (" % CRT)
    assert r["msg"].endswith("); expected a PEM certificate")


def test_chain_file_fingerprint_is_the_leaf(pki):
    with open(pki["good"][0]) as a, open(pki["short"][0]) as b:
        leaf, chain = a.read(), b.read()
    assert pem_fingerprint(leaf + chain) == hashlib.sha256(der_of(pki["good"][0])).hexdigest()
    assert pem_fingerprint("garbage") is None


def test_split_endpoint():
    assert split_endpoint("127.0.0.1:443") == ("127.0.0.1", 443)
    assert split_endpoint("[::1]:8443") == ("::1", 8443)
    assert split_endpoint("nexus.example.org") == ("nexus.example.org", 443)


@pytest.fixture
def tls_server(pki):
    """A one-connection-at-a-time TLS server on a free local port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pki["good"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, dummy = listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def test_local_probe_fetches_the_served_certificate(pki, tls_server):
    der, reason = LocalHost().tls_peer_cert_der("127.0.0.1", tls_server, 5.0, "nexus-cos.test")
    assert reason == "" and der == der_of(pki["good"][0])


def test_local_probe_reports_a_refused_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    assert LocalHost().tls_peer_cert_der("127.0.0.1", port, 2.0) == (None, "Connection refused")


def real_params(pki, tls_server, tmp_path, audit):
    """The check's parameters for the good pair, a private copy of its key,
    the local TLS server and ``audit``."""
    crt, key = pki["good"]
    local_key = tmp_path / "nexus-cos.key"
    shutil.copy(key, str(local_key))
    os.chmod(str(local_key), 0o600)
    params = dict(PARAMS)
    params.update(cert=crt, key=str(local_key), tls_endpoint="127.0.0.1:%d" % tls_server, audit_dir=str(audit))
    return params


def test_whole_check_on_real_files(pki, tls_server, tmp_path, trusted_tmp):
    audit = pathlib.Path(trusted_tmp) / "audit"
    audit.mkdir(mode=0o750)
    os.chmod(str(audit), 0o750)
    rollback = audit / "rollback-1.sh"
    rollback.write_text("#!/bin/sh\n")
    os.chmod(str(rollback), 0o750)
    params = real_params(pki, tls_server, tmp_path, audit)
    r = security(LocalHost(), **params)
    assert r["status"] == "PASS", r
    os.chmod(str(rollback), 0o755)
    r = security(LocalHost(), **params)
    assert r["msg"] == ("1 file(s) in %s accessible by others: rollback-1.sh (0755); expected no access for others"
                        % audit)


def test_whole_check_on_the_platform_scripts_real_files(pki, tls_server, tmp_path, trusted_tmp):
    audit = pathlib.Path(trusted_tmp) / "audit"
    written = platform_leftovers.lay_down(str(audit))
    os.chmod(str(audit), 0o755)   # as the platform script's mkdir -p leaves it
    params = real_params(pki, tls_server, tmp_path, audit)
    r = security(LocalHost(), **params)
    assert r["status"] == "WARN", r
    assert r["msg"] == (
        "audit directory %s is open to others (mode 0755), so 5 file(s) the platform's deploy script left there are "
        "readable by others: %s; they are that tool's records, not this collection's and not part of the audit "
        "chain; expected no access for others" % (audit, PLATFORM_LISTED))
    assert platform_leftovers.changed(written) == []
    os.chmod(str(audit), 0o750)    # the fix the hint gives
    assert security(LocalHost(), **params)["status"] == "PASS"
    assert platform_leftovers.changed(written) == []


def test_role_defaults_match_argument_specs():
    assert_defaults_match(ROLE)


def test_a_file_of_another_tool_not_named_like_the_platforms_is_named_as_such(pki):
    host = make_host(pki, audit_mode=0o040755, audit_files=dict(OURS, **{"deployment-notes.log": 0o100644}))
    host.files[os.path.join(AUDIT, "deployment-notes.log")] = b"notes of the last attempt\n"
    r = security(host)
    assert r["status"] == "WARN"
    assert r["msg"].startswith("audit directory %s is open to others (mode 0755), so 1 file(s) another tool left "
                               "there are readable by others: deployment-notes.log (0644);" % AUDIT)
    assert r["hint"].endswith("(do not chmod, move or delete them: they are another tool's records)")


# ---------------------------------------------------------------- only root may control the audit dir

OVERRIDE = "-e '{\"precheck_skip\": [\"security\"]}'"
EXPECTED = "expected it and every directory above it owned by root, writable by root alone and not a symlink"


def test_an_audit_dir_owned_by_another_user_fails_naming_owner_mode_and_fix(pki):
    host = make_host(pki)
    host.stats[AUDIT] = stat_result(0o040750, uid=65534)
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("audit directory %s is owned by nobody (uid 65534), mode 0750; %s" % (AUDIT, EXPECTED))
    assert r["hint"] == "chown root:root %s && chmod 0750 %s" % (AUDIT, AUDIT)
    assert r["override"]["skip"] == OVERRIDE
    assert "audit_files" not in r["details"]     # a directory someone else controls is not read


def test_a_symlinked_audit_dir_fails_and_is_not_read(pki):
    host = make_host(pki)
    host.lstats = {AUDIT: stat_result(0o120777)}
    host.links = {AUDIT: "/home/web/audit"}
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("audit directory %s is a symlink to /home/web/audit; %s" % (AUDIT, EXPECTED))
    assert r["hint"].startswith("replace the symlink %s with the directory or file it stands for" % AUDIT)
    assert "audit_files" not in r["details"]


def test_a_parent_writable_by_a_users_group_fails_naming_the_parent(pki):
    host = make_host(pki)
    host.stats["/var/log/nexus-cos"] = stat_result(0o040775, gid=54321)
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("audit directory %s is not trusted: /var/log/nexus-cos above it is writable by group "
                               "gid 54321 (mode 0775); %s" % (AUDIT, EXPECTED))
    assert r["hint"] == "chown root:root /var/log/nexus-cos && chmod go-w /var/log/nexus-cos"


def test_a_parent_writable_by_a_system_group_passes(pki):
    """Ubuntu's /var/log is root:syslog 0775: the host's own daemons."""
    host = make_host(pki)
    host.stats["/var/log"] = stat_result(0o040775, gid=110)
    assert security(host)["status"] == "PASS"


def test_the_audit_dir_itself_writable_by_a_system_group_fails(pki):
    host = make_host(pki)
    host.stats[AUDIT] = stat_result(0o040770, gid=110)
    msg = security(host)["msg"]
    assert msg.startswith("audit directory %s is writable by group " % AUDIT) and "gid 110" in msg and "(mode 0770)" in msg


def test_a_sticky_world_writable_parent_fails(pki):
    host = make_host(pki)
    host.stats["/var/log"] = stat_result(0o041777)
    r = security(host)
    assert r["status"] == "FAIL"
    assert "/var/log above it is writable by every user (mode 1777, sticky: another user may create names there)" \
        in r["msg"]
    assert r["hint"] == "move it under a directory only root can write (not /var/log)"


def test_a_file_of_ours_owned_by_another_user_fails(pki):
    host = make_host(pki, audit_files={"deployment-1.log": 0o100640, "nexus-rollback-20260115T103045Z.sh": 0o100750})
    path = os.path.join(AUDIT, "nexus-rollback-20260115T103045Z.sh")
    host.stats[path] = stat_result(0o100750, uid=65534)
    r = security(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("1 file(s) of this collection in %s are not root's alone: "
                               "nexus-rollback-20260115T103045Z.sh (owned by nobody (uid 65534), mode 0750)" % AUDIT)
    assert r["hint"] == "chown root:root %s && chmod 0640 %s" % (path, path)


def test_the_platforms_rollback_script_is_listed_as_not_ours(pki):
    r = security(leftover_host(pki, 0o040750))
    listed = [line for line in r["details"]["foreign_files"] if line.startswith("rollback-20250101-101010.sh")]
    assert listed == ["rollback-20250101-101010.sh (0755): rollback script of the platform's deploy script "
                      "(deploy-phase-4-full-launch.sh): not ours (no '# nexus_cos.launch rendered script' line; this "
                      "collection's are nexus-rollback-<UTC stamp>.sh), never run by it"]


def test_a_script_under_the_platforms_name_with_our_marker_is_ours(pki):
    marked = b"#!/bin/bash\n# nexus_cos.launch rendered script run_id=r1\n"
    r = security(leftover_host(pki, 0o040750, contents={"rollback-20250101-101010.sh": marked}))
    assert r["status"] == "FAIL"    # ours, so its 0755 is our file exposed
    assert "accessible by others: rollback-20250101-101010.sh (0755)" in r["msg"]


def test_on_real_files_an_audit_dir_given_to_nobody_fails(pki, tls_server, tmp_path, trusted_tmp):
    audit = pathlib.Path(trusted_tmp) / "audit"
    audit.mkdir(mode=0o750)
    params = real_params(pki, tls_server, tmp_path, audit)
    assert security(LocalHost(), **params)["status"] == "PASS"
    os.chown(str(audit), 65534, 65534)
    r = security(LocalHost(), **params)
    assert r["status"] == "FAIL" and r["msg"].startswith("audit directory %s is owned by nobody" % audit)


def test_on_real_files_a_symlink_to_another_users_directory_fails(pki, tls_server, tmp_path, trusted_tmp):
    theirs = pathlib.Path(trusted_tmp) / "theirs"
    theirs.mkdir(mode=0o750)
    os.chown(str(theirs), 65534, 65534)
    audit = pathlib.Path(trusted_tmp) / "audit"
    audit.symlink_to(theirs)
    r = security(LocalHost(), **real_params(pki, tls_server, tmp_path, audit))
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("audit directory %s is a symlink to %s; %s" % (audit, theirs, EXPECTED))


def test_untrusted_tmp_is_refused_by_the_rule():
    """pytest's tmp_path lies under /tmp: the rule refuses it for our dirs."""
    found = LocalHost().untrusted("/tmp/nexus-audit")
    assert found is not None and found[0] == "/tmp"
