# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Installs the collections tests/requirements.yml names, at the versions it
pins, from the ansible package's wheel (PyPI, its sha256 checked by pip)
rather than from Galaxy, and only those: the whole package is about 450 MB
of collections the tests do not use.

    python tests/collections/install.py --requirements tests/requirements.yml \
        --bundle ansible==12.3.0 --sha256 HEX --dest DIR

DIR is the directory that holds ansible_collections/ (a venv's site-packages:
ansible finds collections there as it finds the bundle's). What was taken is
recorded in DIR/ansible_collections/.test-collections.json; run again with
the same requirements and bundle, it does nothing."""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic

RECORD = ".test-collections.json"


class Refused(Exception):
    pass


def wanted(path):
    """{fqcn: version} from a requirements.yml whose every entry pins one version."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise Refused("%s: cannot read it: %s" % (path, exc))
    entries = data.get("collections") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise Refused("%s: expected a 'collections' list of {name, version}" % path)
    found = {}
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name.count(".") != 1:
            raise Refused("%s: collections[%d].name must be namespace.name, got %r" % (path, index, name))
        if not isinstance(version, str) or not version[:1].isdigit():
            raise Refused("%s: collections[%d] (%s): version must be one exact version such as \"4.8.5\", got %r"
                          % (path, index, name, version))
        found[name] = version
    return found


def download(bundle, sha256, into):
    """The bundle's wheel, by pip, which refuses a file whose hash differs."""
    reqs = os.path.join(into, "bundle.txt")
    with open(reqs, "w", encoding="utf-8") as handle:
        handle.write("%s --hash=sha256:%s\n" % (bundle, sha256))
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                           "--only-binary=:all:", "--require-hashes", "-r", reqs, "-d", into],
                          capture_output=True, text=True, check=False)
    wheels = glob.glob(os.path.join(into, "*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise Refused("pip download %s (sha256 %s) failed:\n%s" % (bundle, sha256, proc.stderr[-2000:]))
    return wheels[0]


def extract(wheel, collections, dest):
    """Each collection's folder out of the wheel into dest/ansible_collections,
    after checking its version and that its dependencies are requested too."""
    root = os.path.join(dest, "ansible_collections")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        manifests = {}
        for fqcn, version in collections.items():
            prefix = "ansible_collections/%s/" % fqcn.replace(".", "/")
            try:
                info = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]
            except KeyError:
                raise Refused("%s: the wheel %s has no collection %s" % (os.path.basename(wheel), wheel, fqcn))
            if info["version"] != version:
                raise Refused("%s: the wheel has %s %s, tests/requirements.yml pins %s"
                              % (os.path.basename(wheel), fqcn, info["version"], version))
            missing = sorted(set(info.get("dependencies") or {}) - set(collections))
            if missing:
                raise Refused("%s %s depends on %s: add it to tests/requirements.yml" % (fqcn, version, ", ".join(missing)))
            manifests[fqcn] = prefix
        os.makedirs(root, exist_ok=True)
        for fqcn, prefix in manifests.items():
            target = os.path.join(root, *fqcn.split("."))
            staging = tempfile.mkdtemp(prefix=".%s-" % fqcn, dir=root)
            for member in names:
                if member.startswith(prefix) and not member.endswith("/"):
                    archive.extract(member, staging)
            # Swap in whole: an older copy's files must not linger.
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(os.path.join(staging, prefix.rstrip("/")), target)
            shutil.rmtree(staging)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", required=True)
    parser.add_argument("--bundle", required=True, help="the ansible package, pinned: ansible==X.Y.Z")
    parser.add_argument("--sha256", required=True, help="the sha256 of its py3-none-any wheel")
    parser.add_argument("--dest", required=True, help="the directory that holds (or will hold) ansible_collections")
    args = parser.parse_args(argv)
    try:
        collections = wanted(args.requirements)
        record = {"bundle": args.bundle, "sha256": args.sha256, "collections": collections}
        record_path = os.path.join(args.dest, "ansible_collections", RECORD)
        try:
            with open(record_path, encoding="utf-8") as handle:
                if json.load(handle) == record and all(
                        os.path.isfile(os.path.join(args.dest, "ansible_collections", *fqcn.split("."), "MANIFEST.json"))
                        for fqcn in collections):
                    print("test collections already installed: %s" % ", ".join(
                        "%s %s" % item for item in sorted(collections.items())))
                    return 0
        except (OSError, ValueError):
            pass
        with tempfile.TemporaryDirectory() as work:
            extract(download(args.bundle, args.sha256, work), collections, args.dest)
        write_atomic(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n", mode=0o644)
    except Refused as exc:
        print("tests/collections/install.py: %s" % exc, file=sys.stderr)
        return 1
    print("test collections installed from %s: %s" % (args.bundle, ", ".join(
        "%s %s" % item for item in sorted(collections.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
