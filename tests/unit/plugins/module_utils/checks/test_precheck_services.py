"""Precheck 2 (services) against a fake host."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost

IS_ACTIVE = ("systemctl", "is-active", "docker", "nginx")
NGINX_T = ("nginx", "-t")
NGINX_OK = (0, "", "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
                   "nginx: configuration file /etc/nginx/nginx.conf test is successful\n")
NGINX_BROKEN = (1, "", 'nginx: [emerg] unknown directive "sever_name" in /etc/nginx/sites-enabled/nexus-cos:4\n'
                       "nginx: configuration file /etc/nginx/nginx.conf test failed\n")


def services(host, severity="error", **params):
    base = {"units": ["docker", "nginx"], "nginx_config_test": True, "timeout": 20}
    return run_checks({"services": {"severity": severity, "params": dict(base, **params)}}, host)[0]


def host_with(states=(0, "active\nactive\n", ""), nginx=NGINX_OK):
    return FakeHost(commands={IS_ACTIVE: states, NGINX_T: nginx})


def test_passes_with_units_active_and_nginx_config_ok():
    host = host_with()
    r = services(host)
    assert r["status"] == "PASS", r
    assert r["msg"] == "docker, nginx active; nginx -t ok"
    assert r["details"]["units"] == {"docker": "active", "nginx": "active"}
    # one systemctl call for every unit
    assert host.calls == [IS_ACTIVE, NGINX_T]


def test_names_each_inactive_unit_and_its_state():
    r = services(host_with(states=(3, "failed\ninactive\n", "")))
    assert r["status"] == "FAIL"
    assert r["msg"] == "docker is failed; expected active; nginx is inactive; expected active"
    assert "systemctl start docker nginx" in r["hint"]
    assert "journalctl -u docker -u nginx" in r["hint"]


def test_one_inactive_unit():
    r = services(host_with(states=(3, "active\nactivating\n", "")))
    assert r["msg"] == "nginx is activating; expected active"
    assert "systemctl start nginx;" in r["hint"] and "journalctl -u nginx -n 50" in r["hint"]


def test_nginx_config_error_names_the_first_error_line():
    r = services(host_with(nginx=NGINX_BROKEN))
    assert r["status"] == "FAIL"
    assert r["msg"] == ('nginx -t failed: [emerg] unknown directive "sever_name" in '
                        '/etc/nginx/sites-enabled/nexus-cos:4')


def test_inactive_unit_and_broken_config_are_both_reported():
    r = services(host_with(states=(3, "active\nfailed\n", ""), nginx=NGINX_BROKEN))
    assert r["msg"].startswith("nginx is failed; expected active; nginx -t failed: [emerg]")


def test_nginx_test_without_error_tag_uses_first_stderr_line():
    r = services(host_with(nginx=(1, "", "nginx: something odd\nmore\n")))
    assert r["msg"] == "nginx -t failed: nginx: something odd"


def test_nginx_missing_and_timeout():
    assert services(host_with(nginx=(127, "", "nginx: command not found")))["msg"] == \
        "nginx not found; expected nginx -t to pass"
    assert services(host_with(nginx=(124, "", "")))["msg"] == \
        "nginx -t did not finish within 20 s; expected it to pass"


def test_nginx_test_can_be_turned_off():
    host = host_with(nginx=NGINX_BROKEN)
    r = services(host, nginx_config_test=False)
    assert r["status"] == "PASS" and r["msg"] == "docker, nginx active"
    assert NGINX_T not in host.calls


def test_systemctl_missing():
    r = services(FakeHost(commands={NGINX_T: NGINX_OK}))
    assert r["status"] == "FAIL"
    assert r["msg"] == "systemctl not found; expected systemd to manage docker, nginx"


def test_systemctl_timeout():
    r = services(host_with(states=(124, "", "timed out")))
    assert r["msg"] == "systemctl is-active docker nginx did not answer within 20 s"


def test_systemd_not_running():
    r = services(host_with(states=(1, "", "System has not been booted with systemd as init system (PID 1). "
                                          "Can't operate.\n")))
    assert r["msg"] == ("could not read the state of docker, nginx: systemctl is-active answered rc 1: "
                        "System has not been booted with systemd as init system (PID 1). Can't operate.")


def test_units_are_a_parameter():
    host = FakeHost(commands={("systemctl", "is-active", "docker", "nginx", "nexus-cos-gateway"):
                              (3, "active\nactive\ninactive\n", ""), NGINX_T: NGINX_OK})
    r = services(host, units=["docker", "nginx", "nexus-cos-gateway"])
    assert r["msg"] == "nexus-cos-gateway is inactive; expected active"


def test_warn_severity_downgrades():
    assert services(host_with(states=(3, "active\ninactive\n", "")), severity="warn")["status"] == "WARN"


def test_nginx_time_and_pid_prefix_is_dropped():
    from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.services import nginx_error_line
    line = ('2026/11/28 06:06:48 [emerg] 6460#6460: SSL_CTX_use_PrivateKey("/etc/nginx/ssl/nexus-cos.key") failed\n'
            "nginx: configuration file /etc/nginx/nginx.conf test failed\n")
    assert nginx_error_line(line) == '[emerg] SSL_CTX_use_PrivateKey("/etc/nginx/ssl/nexus-cos.key") failed'
