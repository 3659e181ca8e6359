# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""How a check looks at the host: the one seam between the checks and the
machine. ``LocalHost`` is the real thing (it runs inside the module, on the
managed host); tests give the checks a fake with the same methods.

Every probe is bounded: commands and HTTP requests have timeouts, file reads
have a size cap. Nothing here changes the host except the backup check's
``make_dir``, ``write_probe`` and ``write_marker``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import ssl
import subprocess
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway, trusted_path
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic

READ_LIMIT = 1024 * 1024


class ProbeError(Exception):
    pass


class LocalHost(object):
    """Probes against the machine this code runs on."""

    def command(self, argv, timeout=20, env=None):
        """Run argv (never through a shell); return (rc, stdout, stderr).
        A missing binary is rc 127, a timeout rc 124, like the shell."""
        if self.which(argv[0]) is None and not os.path.isabs(argv[0]):
            return 127, "", "%s: command not found" % argv[0]
        run_env = dict(os.environ, LC_ALL="C", LANG="C")
        if env:
            run_env.update(env)
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, timeout=timeout, env=run_env, check=False)
        except subprocess.TimeoutExpired:
            return 124, "", "%s timed out after %ss" % (" ".join(argv), timeout)
        except OSError as exc:
            return 126, "", "%s: %s" % (argv[0], exc)
        return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                proc.stderr.decode("utf-8", "replace"))

    def which(self, name):
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def python_module(self, name):
        """True when the python running this code can import ``name``."""
        return importlib.util.find_spec(name) is not None

    def read_text(self, path, limit=READ_LIMIT):
        """File text (UTF-8, replace on error) or None when it does not exist."""
        data = self.read_bytes(path, limit)
        return None if data is None else data.decode("utf-8", "replace")

    def read_bytes(self, path, limit=READ_LIMIT):
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            return None
        if len(data) > limit:
            raise ProbeError("%s is larger than %d bytes" % (path, limit))
        return data

    def stat(self, path):
        """os.stat_result or None when missing."""
        try:
            return os.stat(path)
        except FileNotFoundError:
            return None

    def untrusted(self, path):
        """(component, found, fix) when root does not alone control ``path``
        (trusted_path.path_problem), else None."""
        return trusted_path.path_problem(path)

    def listdir(self, path):
        try:
            return sorted(os.listdir(path))
        except FileNotFoundError:
            return None

    def disk_free(self, path):
        """(free_bytes_for_unprivileged, total_bytes, mountpoint-ish device id)
        of the filesystem holding path, or of its nearest existing parent."""
        probe = path
        while not os.path.exists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        st = os.statvfs(probe)
        return {"path": path, "probed": probe, "free": st.f_bavail * st.f_frsize,
                "total": st.f_blocks * st.f_frsize, "device": os.stat(probe).st_dev}

    def meminfo(self):
        text = self.read_text("/proc/meminfo") or ""
        out = {}
        for line in text.splitlines():
            key, dummy, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key.strip()] = int(parts[0]) * 1024
        return out

    def euid(self):
        return os.geteuid()

    def http_get(self, url, timeout=5.0):
        """(status, body, elapsed_ms) through the collection's one gateway
        client: body is the parsed JSON (None when not JSON); status 0 with
        the reason as body when nothing answered."""
        answer = gateway.fetch(url, "GET", timeout)
        if not answer.status:
            return 0, answer.error, answer.elapsed_ms
        return answer.status, answer.body, answer.elapsed_ms

    def sleep(self, seconds):
        time.sleep(seconds)

    def now(self):
        return time.time()

    def tls_peer_cert_der(self, host, port, timeout=5.0, server_name=None):
        """(DER bytes of the certificate served at host:port, "") or (None,
        reason). No verification: the check compares fingerprints itself."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                with context.wrap_socket(sock, server_hostname=server_name or None) as tls:
                    der = tls.getpeercert(binary_form=True)
        except ssl.SSLError as exc:
            return None, "TLS handshake failed: %s" % (exc.reason or exc)
        except socket.timeout:
            return None, "timed out after %ss" % timeout
        except OSError as exc:
            return None, exc.strerror or str(exc)
        return (der, "") if der else (None, "no certificate presented")

    def writable(self, path):
        """Access check only (check mode): would a write into path succeed."""
        return os.access(path, os.W_OK | os.X_OK)

    def make_dir(self, path, mode):
        """Create one directory level with exactly mode (not the umask's)."""
        os.mkdir(path, mode)
        os.chmod(path, mode)

    def write_probe(self, directory):
        """Prove a directory takes a write: create, fsync and remove a probe
        file. Raises OSError with the reason (Permission denied, Read-only
        file system, No space left on device)."""
        path = os.path.join(directory, ".nexus-cos-precheck-%d.probe" % os.getpid())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(path)

    def write_marker(self, path, text, mode=0o640):
        """Write a whole file atomically (temp file, fsync, rename)."""
        write_atomic(path, text, mode=mode)
