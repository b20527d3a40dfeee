#!/usr/bin/env python3
"""Checks docker-compose.yml against the confab binary, where `docker compose config` cannot run
(no compose plugin here): every CONFAB_* variable a service sets is one its role reads; secrets
must be given (`${VAR:?...}`); every service restarts and has a healthcheck that what depends on
it can wait for; volumes are declared; Kafka keeps its log on its volume and advertises a listener
the host can reach; MinIO gets no SSE-S3 request (it refuses one without a KMS); Prometheus
scrapes every role where it listens.

usage: check-compose.py COMPOSE_FILE CONFAB_BIN
"""
import re
import subprocess
import sys

import yaml

compose_path, confab = sys.argv[1], sys.argv[2]
with open(compose_path) as f:
    compose = yaml.safe_load(f)
services = compose["services"]
problems = []


def env_of(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def accepted(role):
    """The CONFAB_* variables `confab ROLE` reads, from its --help."""
    help_text = subprocess.run([confab, role, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\[env: (CONFAB_[A-Z0-9_]+)[=\]]", help_text))


declared_volumes = set((compose.get("volumes") or {}).keys())
for name, service in services.items():
    if service.get("restart") != "unless-stopped":
        problems.append(f"{name}: restart is not unless-stopped")
    if "healthcheck" not in service:
        problems.append(f"{name}: no healthcheck")
    for dependency, condition in (service.get("depends_on") or {}).items():
        if condition.get("condition") == "service_healthy" and "healthcheck" not in services.get(dependency, {}):
            problems.append(f"{name}: waits for {dependency} to be healthy, which has no healthcheck")
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0]
        if not source.startswith((".", "/")) and source not in declared_volumes:
            problems.append(f"{name}: volume {source} is not declared")
    for port in service.get("ports", []):
        if not str(port).startswith("127.0.0.1:"):
            problems.append(f"{name}: port {port} is published beyond 127.0.0.1")

    if service.get("build") is None:
        continue
    role = service["command"][0]
    env = env_of(service)
    known = accepted(role)
    for key in env:
        if key.startswith("CONFAB_KAFKA_OPTION_"):
            continue
        if key.startswith("CONFAB_") and key not in known:
            problems.append(f"{name}: confab {role} does not read {key}")
    for secret in ("CONFAB_JWT_SECRET", "CONFAB_MASTER_KEYS", "CONFAB_VAPID_PRIVATE_KEY"):
        if secret in env and not re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]):
            problems.append(f"{name}: {secret} must be required from the environment (${{{secret}:?...}})")
    if role == "api" and not {"CONFAB_JWT_SECRET", "CONFAB_MASTER_KEYS"} <= env.keys():
        problems.append(f"{name}: an api process on Kafka needs CONFAB_JWT_SECRET and CONFAB_MASTER_KEYS")
    if "minio" in env.get("CONFAB_S3_ENDPOINT", "") and env.get("CONFAB_S3_SSE") != "none":
        problems.append(f"{name}: MinIO refuses SSE-S3 without a KMS; set CONFAB_S3_SSE: none")
    log = env.get("CONFAB_LOG", "")
    if log.startswith("kafka://"):
        host = log[len("kafka://"):].split(":")[0]
        if host not in services:
            problems.append(f"{name}: CONFAB_LOG names {host}, which is not a service")

kafka = services.get("kafka")
if kafka:
    env = env_of(kafka)
    log_dirs = env.get("KAFKA_LOG_DIRS")
    mounts = [volume.split(":")[1] for volume in kafka.get("volumes", [])]
    if not log_dirs or not any(log_dirs.startswith(mount) for mount in mounts):
        problems.append("kafka: KAFKA_LOG_DIRS is not on a mounted volume (the image writes to /tmp otherwise)")
    published = {str(port).split(":")[1] for port in kafka.get("ports", [])}
    host_listeners = [
        listener for listener in env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",") if "127.0.0.1:" in listener
    ]
    if not host_listeners:
        problems.append("kafka: no advertised listener the host can reach")
    for listener in host_listeners:
        if listener.rsplit(":", 1)[1] not in published:
            problems.append(f"kafka: {listener} is advertised but its port is not published")

# Prometheus scrapes each role where it listens, and every role is scraped.
prometheus = services.get("prometheus")
if prometheus:
    import os

    config_mount = next((v for v in prometheus.get("volumes", []) if v.split(":")[1].endswith("prometheus.yml")), None)
    if not config_mount:
        problems.append("prometheus: no prometheus.yml mounted")
    else:
        with open(os.path.join(os.path.dirname(compose_path) or ".", config_mount.split(":")[0])) as f:
            scrape = yaml.safe_load(f)
        targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
        listening = {}
        for name, service in services.items():
            env = env_of(service)
            address = env.get("CONFAB_LISTEN") or env.get("CONFAB_HEALTH_LISTEN")
            if service.get("build") is not None and address:
                listening[f"{name}:{address.rsplit(':', 1)[1]}"] = name
        for target in sorted(targets - listening.keys()):
            problems.append(f"prometheus: scrapes {target}, where no confab role listens")
        for target in sorted(listening.keys() - targets):
            problems.append(f"prometheus: does not scrape {listening[target]} ({target})")

if problems:
    print("docker-compose.yml does not agree with confab:")
    for problem in problems:
        print(f"  - {problem}")
    sys.exit(1)
print(f"docker-compose.yml: {len(services)} services agree with confab's flags")
