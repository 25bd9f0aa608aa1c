"""Every config of the stack, checked by its own tool (nginx, promtool, amtool, docker-compose).

A missing tool fails these tests: CI installs them (scripts/test.sh).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from _stack_support import REPO, build_nginx_harness, free_port, run_tool

from castwatch.common.env import ConfigError
from castwatch.settings import Settings

PROM = REPO / "prometheus"


def test_our_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    harness = build_nginx_harness(tmp_path, api_port=free_port(), grafana_port=free_port())
    result = run_tool("nginx", "-t", "-c", str(harness.main_conf), "-e", str(tmp_path / "t.log"))
    assert "test is successful" in result.stderr


def test_nginx_proxies_socket_io_with_the_websocket_upgrade_and_long_reads() -> None:
    site = (REPO / "nginx" / "castwatch-http.conf").read_text()
    socket_io = site.split("location /socket.io/", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade;" in socket_io
    assert "proxy_set_header Connection $connection_upgrade;" in socket_io
    assert "proxy_read_timeout 1h;" in socket_io
    api = site.split("location /api/", 1)[1].split("}", 1)[0]
    assert "limit_req zone=castwatch_api" in api


def test_prometheus_config_and_its_rule_files_pass_promtool_check_config() -> None:
    result = run_tool("promtool", "check", "config", str(PROM / "prometheus.yml"))
    assert "2 rule files found" in result.stdout


def test_every_rule_file_passes_promtool_check_rules() -> None:
    files = sorted(str(p) for p in (PROM / "rules").glob("*.yml"))
    assert len(files) == 2
    run_tool("promtool", "check", "rules", *files)


def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    tests = sorted(str(p) for p in (PROM / "tests").glob("*.test.yml"))
    assert tests, "prometheus/tests/ has no unit tests"
    result = run_tool("promtool", "test", "rules", *tests)
    assert "SUCCESS" in result.stdout and "FAILED" not in result.stdout


def test_every_stack_alert_rule_has_a_unit_test_and_a_castwatch_severity() -> None:
    rules = yaml.safe_load((PROM / "rules" / "castwatch-alerts.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tested = "\n".join(p.read_text() for p in (PROM / "tests").glob("*.test.yml"))
    for rule in alerts:
        assert rule["alert"].startswith("STACK_"), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "major", "minor", "info")
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no promtool test"


def test_alertmanager_config_passes_amtool_and_routes_everything_to_castwatch() -> None:
    config = PROM / "alertmanager.yml"
    run_tool("amtool", "check-config", str(config))
    routed = run_tool("amtool", "config", "routes", "test", f"--config.file={config}",
                      "alertname=STACK_PROCESS_DOWN", "severity=critical")
    assert routed.stdout.strip() == "castwatch"
    receiver = yaml.safe_load(config.read_text())["receivers"][0]["webhook_configs"][0]
    assert receiver["url"].endswith("/api/v1/alertmanager/webhook")
    assert receiver["send_resolved"] is True


def _compose_dir(tmp_path: Path) -> Path:
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(REPO / "deploy" / ".env.example", tmp_path / ".env")
    return tmp_path


def test_the_compose_file_passes_docker_compose_config(tmp_path: Path) -> None:
    run_tool("docker-compose", "config", "-q", cwd=_compose_dir(tmp_path))


def test_compose_has_healthchecks_waits_and_lets_probe_scale(tmp_path: Path) -> None:
    result = run_tool("docker-compose", "config", cwd=_compose_dir(tmp_path))
    services = yaml.safe_load(result.stdout)["services"]
    expected = {"postgres", "influxdb", "prometheus", "alertmanager", "grafana", "migrate", "api",
                "probe", "encoders", "notify", "incidents", "nginx"}
    assert expected <= set(services)
    for name, service in services.items():
        if service.get("restart") != "no":  # the one-shot jobs (migrate, grafana-token)
            assert service["healthcheck"]["test"], f"{name} has no healthcheck"
            assert service["restart"] == "unless-stopped", name
    for name in ("api", "probe", "encoders", "notify", "incidents"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    probe = services["probe"]
    assert "container_name" not in probe and "ports" not in probe, "--scale probe=3 needs neither"


def test_compose_volumes_are_named_for_every_store(tmp_path: Path) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    for service, mount in (("postgres", "/var/lib/postgresql/data"), ("influxdb", "/var/lib/influxdb2"),
                           ("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana"),
                           ("alertmanager", "/alertmanager")):
        volumes = compose["services"][service]["volumes"]
        named = [v for v in volumes if v.split(":")[0] in compose["volumes"]]
        assert any(v.split(":")[1] == mount for v in named), f"{service} keeps {mount} in no named volume"


def settings_env_vars() -> set[str]:
    """Every variable Settings reads, from common/env.py, settings.py and each area's settings.py."""
    # env_int(env, "NAME", …) and area helpers such as positive("NAME", …)
    pattern = re.compile(r'\(\s*(?:env,\s*)?"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"')
    sources = [REPO / "services/castwatch/common/env.py", REPO / "services/castwatch/settings.py",
               *sorted((REPO / "services/castwatch").glob("*/settings.py"))]
    names = {m for path in sources for m in pattern.findall(path.read_text())}
    assert len(names) > 10
    return names


def _env_example(*, commented: bool = True) -> dict[str, str]:
    """NAME → value of deploy/.env.example; ``commented`` includes ``# NAME=default`` lines."""
    values = {}
    for line in (REPO / "deploy" / ".env.example").read_text().splitlines():
        line = line.strip()
        if commented and line.startswith("# ") and "=" in line:
            line = line[2:]
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_env_example_lists_every_variable_castwatch_reads() -> None:
    missing = settings_env_vars() - set(_env_example())
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}"


def test_castwatch_refuses_to_start_with_the_example_secrets() -> None:
    env = {k: v for k, v in _env_example(commented=False).items() if v}
    with pytest.raises(ConfigError, match="placeholder"):
        Settings.from_env(env)
    secrets = [k for k, v in env.items() if v == "change-me"]
    assert {"INFLUXDB_TOKEN", "API_SECRET_KEY", "POSTGRES_PASSWORD"} <= set(secrets)


def test_the_dockerfile_is_multi_stage_pinned_and_runs_as_non_root() -> None:
    text = (REPO / "deploy" / "Dockerfile").read_text()
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", text)
    assert base and re.search(r":\d+\.\d+\.\d+-", base.group(1)), "base image must be pinned to a patch"
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0"))


def test_kubernetes_manifests_parse_and_probe_is_a_scalable_deployment() -> None:
    docs = [d for p in sorted((REPO / "deploy" / "k8s").glob("*.yaml"))
            for d in yaml.safe_load_all(p.read_text()) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name in ("api", "probe", "encoders", "notify", "incidents"):
        assert ("Deployment", f"castwatch-{name}") in kinds
    assert ("Job", "castwatch-migrate") in kinds
    probe = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "castwatch-probe")
    assert probe["spec"]["replicas"] >= 2
    container = probe["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["probe"] and "readinessProbe" in container and "livenessProbe" in container
    assert ("HorizontalPodAutoscaler", "castwatch-probe") in kinds


def test_no_store_of_the_stack_starts_before_migrate_has_refused_placeholder_secrets(
        tmp_path: Path) -> None:
    """Issue #11 §5: compose passes secrets to InfluxDB and Grafana too; `castwatch migrate`
    (which they wait for) refuses every "change-me" of .env, not only castwatch's own."""
    import subprocess
    import sys

    from castwatch.common.env import STACK_SECRETS
    from castwatch.settings import Settings

    services = yaml.safe_load(run_tool("docker-compose", "config", cwd=_compose_dir(tmp_path)).stdout)[
        "services"]
    assert services["grafana"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # InfluxDB starts before migrate (whose `castwatch check` writes to it): it refuses itself
    script = services["influxdb"]["entrypoint"][-1]
    assert "change-me" in script and "DOCKER_INFLUXDB_INIT_PASSWORD" in script
    script = script.replace("$$", "$")  # compose's escape, in case this compose keeps it
    refused = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=10,
                             env={"DOCKER_INFLUXDB_INIT_PASSWORD": "change-me",
                                  "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN": "a-real-token"})
    assert refused.returncode == 1 and "placeholder" in refused.stderr
    passed_on = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=10,
                               env={"DOCKER_INFLUXDB_INIT_PASSWORD": "a-real-password",
                                    "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN": "a-real-token"})
    assert "placeholder" not in passed_on.stderr  # it went on to exec the image's entrypoint
    example = _env_example(commented=False)
    passed = {"GRAFANA_ADMIN_PASSWORD", "GRAFANA_DB_PASSWORD", "INFLUXDB_ADMIN_PASSWORD",
              "POSTGRES_PASSWORD", "INFLUXDB_TOKEN"}
    assert passed <= set(STACK_SECRETS)
    assert all(example[name] == "change-me" for name in passed)
    assert Settings.from_env(example | {"API_SECRET_KEY": "x", "CASTWATCH_SECRET_KEY": "x",
                                        "INFLUXDB_TOKEN": "x", "POSTGRES_PASSWORD": "x"}
                             ).placeholder_secrets == ("GRAFANA_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
                                                       "INFLUXDB_ADMIN_PASSWORD")
    env = {"PATH": "/usr/bin:/bin", "GRAFANA_ADMIN_PASSWORD": "change-me",
           "CASTWATCH_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"}
    done = subprocess.run([sys.executable, "-m", "castwatch.cli", "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in done.stdout + done.stderr and "change-me" not in done.stderr


def test_grafana_reads_influxdb_with_the_read_only_token_and_never_sees_the_admin_token(
        tmp_path: Path) -> None:
    """Issue #11 §5: the grafana-token job makes the token; only it and Grafana mount it."""
    services = yaml.safe_load(run_tool("docker-compose", "config", cwd=_compose_dir(tmp_path)).stdout)[
        "services"]
    grafana, job = services["grafana"], services["grafana-token"]
    assert "INFLUXDB_TOKEN" not in (grafana.get("environment") or {})
    assert grafana["depends_on"]["grafana-token"]["condition"] == "service_completed_successfully"
    out = job["command"][job["command"].index("--out") + 1]
    assert job["command"][0] == "grafana-token" and job["restart"] == "no"

    def mount(v: str | dict[str, object]) -> tuple[str, tuple[str, bool]]:
        if isinstance(v, str):  # docker-compose v1 prints the short syntax
            source, target, *mode = v.split(":")
            return source, (target, mode == ["ro"])
        return str(v["source"]), (str(v["target"]), bool(v.get("read_only", False)))

    mounts = {s: dict(mount(v) for v in services[s].get("volumes", [])) for s in services}
    holders = {s for s, m in mounts.items() if "grafana-influx-token" in m}
    assert holders == {"grafana", "grafana-token"}
    assert mounts["grafana-token"]["grafana-influx-token"] == (out, False)
    assert mounts["grafana"]["grafana-influx-token"] == (out, True)
    sources = yaml.safe_load((REPO / "grafana/provisioning/datasources/castwatch.yml").read_text())
    influx = next(d for d in sources["datasources"] if d["uid"] == "castwatch-influxdb")
    assert influx["secureJsonData"]["token"] == f"$__file{{{out}/token}}"
    assert "INFLUXDB_TOKEN" not in (REPO / "grafana/provisioning/datasources/castwatch.yml").read_text()
    dockerfile = (REPO / "deploy/Dockerfile").read_text()
    assert out in dockerfile  # the volume takes the castwatch user's ownership on first use
