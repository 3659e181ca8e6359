"""A fake managed host for precheck tests: the same methods as LocalHost,
answers from dictionaries. Anything not configured behaves like a missing
file, a missing command or a refused connection."""

from __future__ import annotations

import os
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import trusted_path


class FakeHost(object):
    def __init__(self, files=None, commands=None, which=None, euid=0, disks=None, meminfo=None,
                 http=None, stats=None, dirs=None, python_modules=None):
        self.files = dict(files or {})
        self.commands = dict(commands or {})   # tuple(argv) -> (rc, out, err)
        self.which_map = dict(which or {})     # name -> path or None
        self._euid = euid
        self.disks = dict(disks or {})          # path -> {free, total, device}
        self._meminfo = dict(meminfo or {})
        self.http = dict(http or {})            # url -> list of (status, body, ms), consumed in order
        self.stats = dict(stats or {})          # path -> os.stat_result-like
        self.dirs = dict(dirs or {})            # path -> [names]
        self.python_modules = dict(python_modules or {})  # name -> False when missing
        self.calls = []
        self.slept = 0.0

    def command(self, argv, timeout=20, env=None):
        self.calls.append(tuple(argv))
        return self.commands.get(tuple(argv), (127, "", "%s: command not found" % argv[0]))

    def which(self, name):
        # Every command is present unless mapped to None.
        return self.which_map.get(name, "/usr/bin/" + name)

    def python_module(self, name):
        # Every library is present unless mapped to False.
        return self.python_modules.get(name, True)

    def read_text(self, path, limit=None):
        data = self.files.get(path)
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    def read_bytes(self, path, limit=None):
        data = self.files.get(path)
        return data.encode("utf-8") if isinstance(data, str) else data

    def stat(self, path):
        return self.stats.get(path)

    def lstat(self, path):
        """``lstats`` first (symlinks, owners set by a test), then ``stats``;
        a directory above a configured path is root's 0755 unless set."""
        found = getattr(self, "lstats", {}).get(path) or self.stats.get(path)
        if found is None and any(p.startswith(path.rstrip("/") + "/") for p in list(self.stats)
                                 + list(getattr(self, "lstats", {}))):
            found = stat_result(0o040755)
        return found

    def readlink(self, path):
        return getattr(self, "links", {}).get(path, "?")

    def untrusted(self, path):
        return trusted_path.path_problem(path, lstat=self.lstat, readlink=self.readlink)

    def listdir(self, path):
        return self.dirs.get(path)

    def disk_free(self, path):
        info = self.disks[path]
        return dict(info, path=path, probed=path)

    def meminfo(self):
        return self._meminfo

    def euid(self):
        return self._euid

    def http_get(self, url, timeout=5.0):
        answers = self.http.get(url)
        if not answers:
            return 0, "connection refused", 1
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def sleep(self, seconds):
        self.slept += seconds

    def now(self):
        return time.time()

    # Optional state for the probes below, set as attributes by a test:
    # tls_certs {(host, port): der bytes or reason str}, write_errors
    # {path: OSError}, read_only {paths}; writes land in self.written.
    def tls_peer_cert_der(self, host, port, timeout=5.0, server_name=None):
        answer = getattr(self, "tls_certs", {}).get((host, port), "Connection refused")
        return (answer, "") if isinstance(answer, bytes) else (None, answer)

    def writable(self, path):
        return path not in getattr(self, "read_only", ()) and path not in getattr(self, "write_errors", {})

    def make_dir(self, path, mode):
        self._raise_for(path)
        self.stats[path] = stat_result(mode=0o040000 | mode)
        self.__dict__.setdefault("made_dirs", []).append((path, mode))

    def write_probe(self, directory):
        self._raise_for(directory)

    def write_marker(self, path, text, mode=0o640):
        self._raise_for(path)
        self.__dict__.setdefault("written", {})[path] = (text, mode)

    def _raise_for(self, path):
        error = getattr(self, "write_errors", {}).get(path)
        if error is not None:
            raise error


def stat_result(mode=0o100640, uid=0, gid=0, size=0, mtime=None):
    mtime = time.time() if mtime is None else mtime
    return os.stat_result((mode, 0, 0, 1, uid, gid, size, mtime, mtime, mtime))
