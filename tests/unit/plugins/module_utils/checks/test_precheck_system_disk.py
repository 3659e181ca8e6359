"""Prechecks 1 (system) and 4 (disk) against a fake host."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import REGISTRY, run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.system import version_tuple

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
GIB = 1024 ** 3

SYSTEM_PARAMS = {"supported_os": {"debian": "12", "ubuntu": "22.04"}, "required_commands": ["git", "docker"]}


def system(host, **params):
    return run_checks({"system": {"severity": "error", "params": dict(SYSTEM_PARAMS, **params)}}, host)[0]


def test_system_passes_on_debian_12_as_root():
    r = system(FakeHost(files={"/etc/os-release": DEBIAN}))
    assert r["status"] == "PASS", r
    assert "Debian GNU/Linux 12" in r["msg"]


def test_system_refuses_unknown_os():
    r = system(FakeHost(files={"/etc/os-release": "ID=alpine\nVERSION_ID=3.19\n"}))
    assert r["status"] == "FAIL"
    assert r["msg"] == "unsupported OS alpine 3.19; expected one of: debian >= 12, ubuntu >= 22.04"


def test_system_refuses_old_version():
    r = system(FakeHost(files={"/etc/os-release": "ID=debian\nVERSION_ID=11\n"}))
    assert r["status"] == "FAIL" and r["msg"] == "debian 11 is older than the supported minimum 12"


def test_system_missing_os_release():
    r = system(FakeHost())
    assert r["status"] == "FAIL" and r["msg"].startswith("unsupported OS unknown")


def test_system_needs_root():
    r = system(FakeHost(files={"/etc/os-release": DEBIAN}, euid=1000))
    assert r["status"] == "FAIL" and "not running as root (euid 1000)" in r["msg"]
    assert "become" in r["hint"]


def test_system_names_missing_commands():
    r = system(FakeHost(files={"/etc/os-release": DEBIAN}, which={"docker": None}))
    assert r["status"] == "FAIL"
    assert r["msg"] == "required command(s) not found: docker"
    assert r["details"]["missing"] == ["docker"]


def test_system_names_the_missing_host_library_and_its_install_command():
    r = system(FakeHost(files={"/etc/os-release": DEBIAN}, python_modules={"yaml": False}))
    assert r["status"] == "FAIL"
    assert r["msg"] == "the host's python3 lacks PyYAML (python3-yaml), which reads and writes the PF files"
    assert r["hint"] == "apt-get install python3-yaml"
    assert r["details"]["missing"] == ["PyYAML (python3-yaml)"]


def test_local_host_tells_an_importable_library_from_a_missing_one():
    from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost
    assert LocalHost().python_module("json") is True
    assert LocalHost().python_module("no_such_library_anywhere") is False


def test_version_tuple():
    assert version_tuple("22.04") == (22, 4)
    assert version_tuple("12") == (12,)
    assert version_tuple("") == ()


def disk(host, need=5):
    params = {"min_free_gb": need, "paths": ["/opt/nexus-cos", "/opt/nexus-cos/backups", "/var/log/audit"]}
    return run_checks({"disk": {"severity": "error", "params": params}}, host)[0]


def test_disk_passes_and_reports_each_filesystem_once():
    host = FakeHost(disks={"/opt/nexus-cos": {"free": 50 * GIB, "total": 100 * GIB, "device": 1},
                           "/opt/nexus-cos/backups": {"free": 50 * GIB, "total": 100 * GIB, "device": 1},
                           "/var/log/audit": {"free": 9 * GIB, "total": 10 * GIB, "device": 2}})
    r = disk(host)
    assert r["status"] == "PASS", r
    assert len(r["details"]["filesystems"]) == 2


def test_disk_fails_naming_the_short_filesystem():
    host = FakeHost(disks={"/opt/nexus-cos": {"free": 50 * GIB, "total": 100 * GIB, "device": 1},
                           "/opt/nexus-cos/backups": {"free": 50 * GIB, "total": 100 * GIB, "device": 1},
                           "/var/log/audit": {"free": 2 * GIB, "total": 10 * GIB, "device": 2}})
    r = disk(host)
    assert r["status"] == "FAIL"
    assert r["msg"] == "only 2.0 GiB free on the filesystem of /var/log/audit, need 5.0 GiB"
    assert "precheck_disk_min_free_gb" in r["hint"]


def test_disk_threshold_is_a_parameter():
    host = FakeHost(disks={p: {"free": 50 * GIB, "total": 100 * GIB, "device": 1}
                           for p in ("/opt/nexus-cos", "/opt/nexus-cos/backups", "/var/log/audit")})
    assert disk(host, need=60)["status"] == "FAIL"
    assert disk(host, need=40)["status"] == "PASS"


def test_registry_numbers_are_unique():
    numbers = [cls.number for cls in REGISTRY.values()]
    assert len(numbers) == len(set(numbers))
