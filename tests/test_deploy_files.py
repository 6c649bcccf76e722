"""The deployment files: docker-compose.yml against the Compose specification and the way the
system must be wired, the Kubernetes manifests in deploy/k8s checked structurally, and the
dependency locks (the image gets the runtime lock only, and it is enough to run every process).

Each check is a function returning the problems it finds. The real files must have none, and
the self-tests at the bottom break a copy of the real files in one way each and require the
matching check to notice, so that no check can pass vacuously.
"""

import copy
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy" / "k8s"

SERVICE_PORTS = {"identity": 8001, "licensing": 8002, "helpdesk": 8003, "dongle": 8004}
PROCESS_PORTS = {**SERVICE_PORTS, "gateway": 8000}
MIGRATE = "migrate"
MIGRATE_COMMAND = ["python", "-m", "shared.cli", "migrate"]
# Published host port -> the only compose service allowed to publish it.
ALLOWED_PUBLISHED = {"gateway": {8000}, "mailpit": {8025}}

# Compose interpolation that refuses to start when the variable is unset or empty.
REQUIRED_SECRET_FROM_SHELL = "${KABINET_INTERNAL_SECRET:?"
SECRET_KEYS = (
    "KABINET_DATABASE_URL",
    "KABINET_AMQP_URL",
    "KABINET_ADMIN_PASSWORD",
    "KABINET_INTERNAL_SECRET",
)

Doc = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def load_compose() -> Doc:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def load_k8s() -> tuple[list[Doc], Doc, list[str]]:
    """Every manifest document, the kustomization, and the manifest file names."""
    docs: list[Doc] = []
    files: list[str] = []
    kustomization: Doc = {}
    for path in sorted(K8S_DIR.glob("*.yaml")) + sorted(K8S_DIR.glob("*.yml")):
        if path.name in ("kustomization.yaml", "kustomization.yml"):
            kustomization = yaml.safe_load(path.read_text())
            continue
        files.append(path.name)
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None)
    return docs, kustomization, files


def as_list(command: Any) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return command.split()
    return [str(part) for part in command]


def environment(service: Doc) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def depends_on(service: Doc) -> dict[str, str]:
    """Dependency name -> condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def published_ports(service: Doc) -> set[int | str]:
    """The host ports a compose service publishes (short or long syntax)."""
    published: set[int | str] = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published.add(int(port.get("published") or port["target"]))
            continue
        spec = str(port).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        host = parts[-2] if len(parts) >= 2 else parts[0]  # "8000" alone publishes 8000 too
        published.add(int(host) if host.isdigit() else host)
    return published


def runs_our_image(service: Doc) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("kabinet")


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc.get("kind") == kind}


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def container_ports(container: Doc) -> set[int | str]:
    ports: set[int | str] = set()
    for port in container.get("ports") or []:
        ports.add(port["containerPort"])
        if "name" in port:
            ports.add(port["name"])
    return ports


def env_sources(container: Doc) -> tuple[set[str], set[str]]:
    config_maps = {
        e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e
    }
    secrets = {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    return config_maps, secrets


# --------------------------------------------------------------------------- compose checks


def compose_schema_problems(path: Path) -> list[str]:
    """check-jsonschema with its vendored Compose specification schema (works offline)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return []
    return [f"check-jsonschema exit {result.returncode}: {result.stdout}{result.stderr}"]


def compose_image_problems(compose: Doc) -> list[str]:
    services = compose["services"]
    ours = {name for name, service in services.items() if runs_our_image(service)}
    expected = {MIGRATE, *PROCESS_PORTS}
    problems = (
        [f"services running the Kabinet image are {sorted(ours)}, expected {sorted(expected)}"]
        if ours != expected
        else []
    )
    if as_list(services.get(MIGRATE, {}).get("command")) != MIGRATE_COMMAND:
        problems.append(f"{MIGRATE} does not run {' '.join(MIGRATE_COMMAND)}")
    for name, port in PROCESS_PORTS.items():
        command = " ".join(as_list(services.get(name, {}).get("command")))
        if f"--port {port}" not in command or "--factory" not in command:
            problems.append(f"{name} does not run uvicorn --factory on port {port}: {command!r}")
    return problems


def compose_healthcheck_problems(compose: Doc) -> list[str]:
    """Every long-running process of ours is probed on its own /readyz (no curl in the image);
    the infrastructure it waits for has health checks too."""
    problems = []
    for name, service in compose["services"].items():
        if not runs_our_image(service) or name == MIGRATE:
            continue
        healthcheck = service.get("healthcheck") or {}
        test = " ".join(as_list(healthcheck.get("test")))
        port = PROCESS_PORTS.get(name)
        if healthcheck.get("disable") or not test:
            problems.append(f"{name} has no healthcheck")
        elif f":{port}/readyz" not in test or "urllib" not in test or "curl" in test:
            problems.append(f"{name}'s healthcheck does not GET /readyz on {port} via urllib")
    for name, probe in (("postgres", "pg_isready"), ("rabbitmq", "rabbitmq-diagnostics")):
        test = " ".join(
            as_list((compose["services"].get(name, {}).get("healthcheck") or {}).get("test"))
        )
        if probe not in test:
            problems.append(f"{name} has no {probe} healthcheck")
    return problems


def compose_dependency_problems(compose: Doc) -> list[str]:
    services = compose["services"]
    problems = []
    migrate_deps = depends_on(services.get(MIGRATE, {}))
    for infra in ("postgres", "rabbitmq"):
        if migrate_deps.get(infra) != "service_healthy":
            problems.append(f"{MIGRATE} does not wait for {infra} to be healthy")
    for name in PROCESS_PORTS:
        deps = depends_on(services.get(name, {}))
        if deps.get(MIGRATE) != "service_completed_successfully":
            problems.append(f"{name} does not wait for {MIGRATE} to complete successfully")
        needs = ("postgres", "rabbitmq") if name in SERVICE_PORTS else tuple(SERVICE_PORTS)
        for dependency in needs:
            if deps.get(dependency) != "service_healthy":
                problems.append(f"{name} does not wait for {dependency} to be healthy")
            if "healthcheck" not in services.get(dependency, {}):
                problems.append(f"{name} waits for {dependency}, which has no healthcheck")
    return problems


def compose_port_problems(compose: Doc) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        published = published_ports(service)
        allowed = ALLOWED_PUBLISHED.get(name, set())
        if not published <= allowed:
            problems.append(f"{name} publishes {sorted(map(str, published - allowed))}")
    for name, ports in ALLOWED_PUBLISHED.items():
        if not ports <= published_ports(compose["services"].get(name, {})):
            problems.append(f"{name} does not publish {sorted(ports)}")
    return problems


def compose_environment_problems(compose: Doc) -> list[str]:
    services = compose["services"]
    problems = []
    for name in [MIGRATE, *PROCESS_PORTS]:
        env = environment(services.get(name, {}))
        wanted = {
            "KABINET_DATABASE_URL": "@postgres:5432/",
            "KABINET_AMQP_URL": "@rabbitmq:5672/",
            "KABINET_SMTP_HOST": "mailpit",
        }
        for key, part in wanted.items():
            if part not in (env.get(key) or ""):
                problems.append(f"{name}: {key}={env.get(key)!r} does not point at {part!r}")
        if env.get("KABINET_ENV") != "production":
            problems.append(f"{name}: KABINET_ENV is {env.get('KABINET_ENV')!r}, not production")
        secret = env.get("KABINET_INTERNAL_SECRET") or ""
        if not secret.startswith(REQUIRED_SECRET_FROM_SHELL):
            problems.append(f"{name}: KABINET_INTERNAL_SECRET is not required from the shell")
    gateway_env = environment(services.get("gateway", {}))
    for service, port in SERVICE_PORTS.items():
        key = f"KABINET_{service.upper()}_URL"
        if gateway_env.get(key) != f"http://{service}:{port}" or service not in services:
            problems.append(f"gateway: {key}={gateway_env.get(key)!r}, not the {service} service")
    return problems


COMPOSE_CHECKS: dict[str, Callable[[Doc], list[str]]] = {
    "image": compose_image_problems,
    "healthcheck": compose_healthcheck_problems,
    "depends_on": compose_dependency_problems,
    "ports": compose_port_problems,
    "environment": compose_environment_problems,
}


# --------------------------------------------------------------------------- k8s checks


def k8s_shape_problems(docs: list[Doc]) -> list[str]:
    problems = [
        f"document without apiVersion/kind/metadata.name: {doc!r:.80}"
        for doc in docs
        if not (
            doc.get("apiVersion") and doc.get("kind") and (doc.get("metadata") or {}).get("name")
        )
    ]
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.get("kind", ""), (doc.get("metadata") or {}).get("name", ""))
        if key in seen:
            problems.append(f"duplicate {key[0]} {key[1]}")
        seen.add(key)
    namespaces = by_kind(docs, "Namespace")
    if len(namespaces) != 1:
        problems.append(f"expected one Namespace, found {sorted(namespaces)}")
    return problems


def k8s_deployment_problems(docs: list[Doc]) -> list[str]:
    deployments = by_kind(docs, "Deployment")
    config_maps, secrets = set(by_kind(docs, "ConfigMap")), set(by_kind(docs, "Secret"))
    problems = []
    if set(deployments) != set(PROCESS_PORTS):
        problems.append(f"Deployments are {sorted(deployments)}, expected {sorted(PROCESS_PORTS)}")
    for name, deployment in deployments.items():
        if deployment["spec"].get("replicas", 1) < 2:
            problems.append(f"{name}: fewer than 2 replicas")
        spec = pod_spec(deployment)
        containers = spec.get("containers") or []
        if not containers:
            problems.append(f"{name}: no containers")
        for container in containers:
            where = f"{name}/{container.get('name')}"
            ports = container_ports(container)
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                http = (container.get(probe) or {}).get("httpGet") or {}
                if http.get("path") != path:
                    problems.append(f"{where}: {probe} does not GET {path}")
                elif http.get("port") not in ports:
                    problems.append(f"{where}: {probe} port {http.get('port')} is not declared")
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(bound) or {}):
                    problems.append(f"{where}: no cpu and memory {bound}")
            non_root = (container.get("securityContext") or {}).get(
                "runAsNonRoot", (spec.get("securityContext") or {}).get("runAsNonRoot")
            )
            if non_root is not True:
                problems.append(f"{where}: runAsNonRoot is not set")
            maps, secs = env_sources(container)
            if not maps or not maps <= config_maps or not secs or not secs <= secrets:
                problems.append(f"{where}: envFrom does not take the ConfigMap and the Secret")
            if f"--port {PROCESS_PORTS.get(name)}" not in " ".join(
                as_list(container.get("command"))
            ):
                problems.append(f"{where}: does not listen on port {PROCESS_PORTS.get(name)}")
    return problems


def k8s_service_problems(docs: list[Doc]) -> list[str]:
    """Each Deployment has a ClusterIP Service selecting its pods, on a port they declare."""
    services = by_kind(docs, "Service")
    problems = []
    for name, deployment in by_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
        ports = set().union(*(container_ports(c) for c in pod_spec(deployment)["containers"]))
        matching = [
            service
            for service in services.values()
            if service["spec"].get("selector")
            and service["spec"]["selector"].items() <= labels.items()
        ]
        if not matching:
            problems.append(f"{name}: no Service selects its pods")
        for service in matching:
            service_name = service["metadata"]["name"]
            if service["spec"].get("type", "ClusterIP") != "ClusterIP":
                problems.append(f"{name}: Service {service_name} is not ClusterIP")
            for port in service["spec"].get("ports") or []:
                if port.get("targetPort", port.get("port")) not in ports:
                    problems.append(f"{name}: Service {service_name} targets an undeclared port")
            if service_name != name:
                problems.append(f"{name}: its Service is called {service_name}")
    return problems


def k8s_hpa_problems(docs: list[Doc]) -> list[str]:
    hpas = [doc for doc in docs if doc.get("kind") == "HorizontalPodAutoscaler"]
    problems = [
        f"HPA {hpa['metadata']['name']} is {hpa['apiVersion']}, not autoscaling/v2"
        for hpa in hpas
        if hpa["apiVersion"] != "autoscaling/v2"
    ]
    for name in by_kind(docs, "Deployment"):
        targeting = [
            hpa
            for hpa in hpas
            if hpa["spec"]["scaleTargetRef"].get("kind") == "Deployment"
            and hpa["spec"]["scaleTargetRef"].get("name") == name
        ]
        if len(targeting) != 1:
            problems.append(f"{name}: {len(targeting)} HorizontalPodAutoscalers, expected 1")
            continue
        spec = targeting[0]["spec"]
        cpu = [
            m
            for m in spec.get("metrics") or []
            if m.get("type") == "Resource" and m["resource"].get("name") == "cpu"
        ]
        if not cpu:
            problems.append(f"{name}: its HPA does not scale on CPU")
        if not 2 <= spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0):
            problems.append(f"{name}: its HPA bounds are not 2 <= min <= max")
    return problems


def k8s_ingress_problems(docs: list[Doc]) -> list[str]:
    ingresses = [doc for doc in docs if doc.get("kind") == "Ingress"]
    services = by_kind(docs, "Service")
    if not ingresses:
        return ["no Ingress"]
    gateway_ports: set[int | str] = set()
    for port in (services.get("gateway") or {}).get("spec", {}).get("ports") or []:
        gateway_ports.update(p for p in (port.get("port"), port.get("name")) if p is not None)
    problems = []
    for ingress in ingresses:
        name = ingress["metadata"]["name"]
        if ingress["apiVersion"] != "networking.k8s.io/v1":
            problems.append(f"Ingress {name} is {ingress['apiVersion']}")
        spec = ingress["spec"]
        backends = [spec["defaultBackend"]] if "defaultBackend" in spec else []
        for rule in spec.get("rules") or []:
            backends.extend(path["backend"] for path in rule.get("http", {}).get("paths", []))
        if not backends:
            problems.append(f"Ingress {name} has no backend")
        for backend in backends:
            service = backend.get("service") or {}
            port = service.get("port") or {}
            if service.get("name") != "gateway":
                problems.append(f"Ingress {name} sends traffic to {service.get('name')!r}")
            elif port.get("number", port.get("name")) not in gateway_ports:
                problems.append(f"Ingress {name} uses a port the gateway Service lacks")
    return problems


def k8s_config_problems(docs: list[Doc]) -> list[str]:
    """The gateway finds each service's Service; secrets are placeholders, only in the Secret;
    the migration Job runs the migration with the same configuration."""
    problems = []
    config = {k: v for cm in by_kind(docs, "ConfigMap").values() for k, v in cm["data"].items()}
    secret_data: dict[str, str] = {}
    for secret in by_kind(docs, "Secret").values():
        secret_data.update(secret.get("stringData") or {})
    services = by_kind(docs, "Service")
    for service, port in SERVICE_PORTS.items():
        key = f"KABINET_{service.upper()}_URL"
        declared = {
            p.get("port") for p in services.get(service, {}).get("spec", {}).get("ports", [])
        }
        if config.get(key) != f"http://{service}:{port}" or port not in declared:
            problems.append(f"{key}={config.get(key)!r} does not reach Service {service}:{port}")
    if config.get("KABINET_ENV") != "production":
        problems.append(f"KABINET_ENV is {config.get('KABINET_ENV')!r} in the ConfigMap")
    for key in SECRET_KEYS:
        if "change-me" not in secret_data.get(key, ""):
            problems.append(f"Secret lacks a change-me placeholder for {key}")
        if key in config:
            problems.append(f"{key} is in a ConfigMap")
    jobs = by_kind(docs, "Job")
    migrations = [
        container
        for job in jobs.values()
        for container in pod_spec(job)["containers"]
        if as_list(container.get("command")) + as_list(container.get("args")) == MIGRATE_COMMAND
    ]
    if not migrations:
        problems.append(f"no Job runs {' '.join(MIGRATE_COMMAND)}")
    for container in migrations:
        maps, secs = env_sources(container)
        if not maps or not secs:
            problems.append("the migration Job does not take the ConfigMap and the Secret")
    return problems


def kustomization_problems(kustomization: Doc, files: list[str], docs: list[Doc]) -> list[str]:
    listed = list(kustomization.get("resources") or [])
    problems = [f"kustomization does not list {name}" for name in files if name not in listed]
    problems += [f"kustomization lists missing {name}" for name in listed if name not in files]
    namespaces = set(by_kind(docs, "Namespace"))
    if kustomization.get("namespace") not in namespaces:
        problems.append(
            f"kustomization namespace {kustomization.get('namespace')!r} is not defined"
        )
    return problems


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels") or {}
    return not selector.get("matchExpressions") and wanted.items() <= labels.items()


def k8s_network_problems(docs: list[Doc]) -> list[str]:
    """Every service's pods are isolated for ingress, and only the gateway's pods may reach them."""
    deployments = by_kind(docs, "Deployment")
    labels = {
        name: deployment["spec"]["template"]["metadata"].get("labels") or {}
        for name, deployment in deployments.items()
    }
    gateway_labels = labels.get("gateway", {})
    policies = by_kind(docs, "NetworkPolicy").values()
    problems = []
    for service in SERVICE_PORTS:
        selecting = [
            policy
            for policy in policies
            if _selects(policy["spec"].get("podSelector") or {}, labels.get(service, {}))
            and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            problems.append(f"{service}: no NetworkPolicy isolates its pods")
        for policy in selecting:
            for rule in policy["spec"].get("ingress") or []:
                peers = rule.get("from")
                if not peers:
                    problems.append(f"{policy['metadata']['name']} lets anyone reach {service}")
                for peer in peers or []:
                    if set(peer) != {"podSelector"} or not _selects(
                        peer["podSelector"], gateway_labels
                    ):
                        problems.append(
                            f"{policy['metadata']['name']} lets {peer!r:.60} reach {service}"
                        )
    if any(
        _selects(policy["spec"].get("podSelector") or {}, gateway_labels) for policy in policies
    ):
        problems.append("a NetworkPolicy isolates the gateway: the Ingress could not reach it")
    return problems


K8S_CHECKS: dict[str, Callable[[list[Doc]], list[str]]] = {
    "shape": k8s_shape_problems,
    "deployments": k8s_deployment_problems,
    "services": k8s_service_problems,
    "hpa": k8s_hpa_problems,
    "ingress": k8s_ingress_problems,
    "config": k8s_config_problems,
    "network": k8s_network_problems,
}


# --------------------------------------------------------------------------- the real files


def test_compose_matches_the_compose_specification() -> None:
    assert compose_schema_problems(COMPOSE_FILE) == []


@pytest.mark.parametrize("check", COMPOSE_CHECKS)
def test_compose(check: str) -> None:
    assert COMPOSE_CHECKS[check](load_compose()) == []


@pytest.mark.parametrize("check", K8S_CHECKS)
def test_k8s(check: str) -> None:
    docs, _, _ = load_k8s()
    assert K8S_CHECKS[check](docs) == []


def test_kustomization_lists_every_manifest() -> None:
    docs, kustomization, files = load_k8s()
    assert files
    assert kustomization_problems(kustomization, files, docs) == []


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_every_document() -> None:
    """Offline: `kubectl kustomize` renders without a cluster."""
    docs, _, _ = load_k8s()
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(docs)
    assert {doc["metadata"].get("namespace") for doc in rendered if doc["kind"] != "Namespace"} == {
        "kabinet"
    }


# --------------------------------------------------------------------------- self-tests


def test_compose_schema_check_rejects_an_invalid_file(tmp_path: Path) -> None:
    compose = load_compose()
    compose["services"]["gateway"]["not_a_compose_key"] = True
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose))
    assert compose_schema_problems(broken)


def _drop(mapping: Doc, key: str) -> None:
    del mapping[key]


def _set_environment(compose: Doc, service: str, **variables: str) -> None:
    """A compose service's environment with `variables` set (a copy: anchors share the dict)."""
    service_doc = compose["services"][service]
    service_doc["environment"] = {**service_doc["environment"], **variables}


def _deployment(docs: list[Doc], name: str) -> Doc:
    return by_kind(docs, "Deployment")[name]


def _container(docs: list[Doc], name: str) -> Doc:
    container: Doc = pod_spec(_deployment(docs, name))["containers"][0]
    return container


def _remove(docs: list[Doc], kind: str, name: str) -> None:
    docs.remove(by_kind(docs, kind)[name])


NETWORK_POLICY = "services-only-from-gateway"


def _network_rule(docs: list[Doc]) -> Doc:
    rule: Doc = by_kind(docs, "NetworkPolicy")[NETWORK_POLICY]["spec"]["ingress"][0]
    return rule


def _ingress_backend(docs: list[Doc]) -> Doc:
    backend: Doc = by_kind(docs, "Ingress")["kabinet"]["spec"]["rules"][0]["http"]["paths"][0][
        "backend"
    ]["service"]
    return backend


COMPOSE_BREAKAGES: list[tuple[str, str, Callable[[Doc], None]]] = [
    (
        "image",
        "migrate runs something else",
        lambda c: c["services"]["migrate"].update(command=["true"]),
    ),
    (
        "image",
        "a service on a wrong port",
        lambda c: c["services"]["dongle"].update(command="uvicorn x:create_app --factory --port 1"),
    ),
    ("healthcheck", "no healthcheck", lambda c: _drop(c["services"]["identity"], "healthcheck")),
    (
        "healthcheck",
        "healthcheck on /healthz",
        lambda c: c["services"]["gateway"]["healthcheck"].update(
            test=[
                "CMD",
                "python",
                "-c",
                "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz')",
            ]
        ),
    ),
    (
        "healthcheck",
        "healthcheck needs curl",
        lambda c: c["services"]["helpdesk"]["healthcheck"].update(
            test=["CMD", "curl", "-f", "http://127.0.0.1:8003/readyz"]
        ),
    ),
    (
        "healthcheck",
        "postgres unchecked",
        lambda c: _drop(c["services"]["postgres"], "healthcheck"),
    ),
    (
        "depends_on",
        "migrate only started",
        lambda c: c["services"]["licensing"]["depends_on"].update(
            migrate={"condition": "service_started"}
        ),
    ),
    (
        "depends_on",
        "gateway without migrate",
        lambda c: c["services"]["gateway"].update(
            depends_on={s: {"condition": "service_healthy"} for s in SERVICE_PORTS}
        ),
    ),
    (
        "depends_on",
        "gateway not waiting for a service",
        lambda c: _drop(c["services"]["gateway"]["depends_on"], "dongle"),
    ),
    (
        "depends_on",
        "migrate before rabbitmq",
        lambda c: _drop(c["services"]["migrate"]["depends_on"], "rabbitmq"),
    ),
    (
        "ports",
        "a service published",
        lambda c: c["services"]["identity"].update(ports=["8001:8001"]),
    ),
    (
        "ports",
        "mailpit smtp published",
        lambda c: c["services"]["mailpit"].update(ports=["8025:8025", "1025:1025"]),
    ),
    ("ports", "gateway unpublished", lambda c: _drop(c["services"]["gateway"], "ports")),
    (
        "ports",
        "postgres published (long syntax)",
        lambda c: c["services"]["postgres"].update(ports=[{"target": 5432, "published": "5432"}]),
    ),
    (
        "environment",
        "gateway to localhost",
        lambda c: _set_environment(c, "gateway", KABINET_HELPDESK_URL="http://127.0.0.1:8003"),
    ),
    (
        "environment",
        "no internal secret",
        lambda c: c["x-kabinet-environment"].pop("KABINET_INTERNAL_SECRET"),
    ),
    (
        "environment",
        "a committed internal secret",
        lambda c: _set_environment(
            c, "identity", KABINET_INTERNAL_SECRET="kabinet-local-internal-secret"
        ),
    ),
    (
        "environment",
        "not production",
        lambda c: c["x-kabinet-environment"].update(KABINET_ENV="local"),
    ),
    (
        "environment",
        "database on localhost",
        lambda c: c["services"]["dongle"].update(
            environment=["KABINET_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/k"]
        ),
    ),
]


@pytest.mark.parametrize(
    ("check", "breakage"),
    [(check, fn) for check, _, fn in COMPOSE_BREAKAGES],
    ids=[f"{check}: {what}" for check, what, _ in COMPOSE_BREAKAGES],
)
def test_compose_check_notices(check: str, breakage: Callable[[Doc], None]) -> None:
    compose = copy.deepcopy(load_compose())
    breakage(compose)
    assert COMPOSE_CHECKS[check](compose)


K8S_BREAKAGES: list[tuple[str, str, Callable[[list[Doc]], None]]] = [
    ("shape", "document without kind", lambda d: d.append({"apiVersion": "v1", "metadata": {}})),
    ("shape", "duplicate", lambda d: d.append(copy.deepcopy(_deployment(d, "identity")))),
    ("deployments", "a Deployment missing", lambda d: _remove(d, "Deployment", "helpdesk")),
    (
        "deployments",
        "one replica",
        lambda d: _deployment(d, "licensing")["spec"].update(replicas=1),
    ),
    (
        "deployments",
        "no readiness probe",
        lambda d: _drop(_container(d, "dongle"), "readinessProbe"),
    ),
    (
        "deployments",
        "liveness on /readyz",
        lambda d: _container(d, "gateway")["livenessProbe"]["httpGet"].update(path="/readyz"),
    ),
    (
        "deployments",
        "probe on an undeclared port",
        lambda d: _container(d, "identity")["readinessProbe"]["httpGet"].update(port="web"),
    ),
    ("deployments", "no limits", lambda d: _drop(_container(d, "identity")["resources"], "limits")),
    (
        "deployments",
        "may run as root",
        lambda d: _drop(pod_spec(_deployment(d, "helpdesk"))["securityContext"], "runAsNonRoot"),
    ),
    (
        "deployments",
        "no secret",
        lambda d: _container(d, "licensing").update(
            envFrom=[{"configMapRef": {"name": "kabinet-config"}}]
        ),
    ),
    ("services", "a Service missing", lambda d: _remove(d, "Service", "dongle")),
    (
        "services",
        "Service selects nothing",
        lambda d: by_kind(d, "Service")["licensing"]["spec"].update(selector={"app": "nope"}),
    ),
    (
        "services",
        "Service is a LoadBalancer",
        lambda d: by_kind(d, "Service")["identity"]["spec"].update(type="LoadBalancer"),
    ),
    (
        "services",
        "Service targets a wrong port",
        lambda d: by_kind(d, "Service")["helpdesk"]["spec"]["ports"][0].update(targetPort=9999),
    ),
    ("hpa", "an HPA missing", lambda d: _remove(d, "HorizontalPodAutoscaler", "gateway")),
    (
        "hpa",
        "HPA targets another Deployment",
        lambda d: by_kind(d, "HorizontalPodAutoscaler")["dongle"]["spec"]["scaleTargetRef"].update(
            name="identity"
        ),
    ),
    (
        "hpa",
        "HPA v1",
        lambda d: by_kind(d, "HorizontalPodAutoscaler")["identity"].update(
            apiVersion="autoscaling/v1"
        ),
    ),
    (
        "hpa",
        "HPA without CPU",
        lambda d: by_kind(d, "HorizontalPodAutoscaler")["helpdesk"]["spec"].update(metrics=[]),
    ),
    ("ingress", "Ingress to a service", lambda d: _ingress_backend(d).update(name="identity")),
    (
        "ingress",
        "Ingress on a wrong port",
        lambda d: _ingress_backend(d).update(port={"number": 80}),
    ),
    ("ingress", "no Ingress", lambda d: _remove(d, "Ingress", "kabinet")),
    (
        "config",
        "gateway URL wrong",
        lambda d: by_kind(d, "ConfigMap")["kabinet-config"]["data"].update(
            KABINET_DONGLE_URL="http://dongle:80"
        ),
    ),
    (
        "config",
        "real password committed",
        lambda d: by_kind(d, "Secret")["kabinet-secrets"]["stringData"].update(
            KABINET_ADMIN_PASSWORD="hunter2"
        ),
    ),
    (
        "config",
        "database URL in the ConfigMap",
        lambda d: by_kind(d, "ConfigMap")["kabinet-config"]["data"].update(
            KABINET_DATABASE_URL="postgresql+asyncpg://change-me@db/kabinet"
        ),
    ),
    ("config", "no migration Job", lambda d: _remove(d, "Job", "kabinet-migrate")),
    (
        "config",
        "no internal secret",
        lambda d: _drop(
            by_kind(d, "Secret")["kabinet-secrets"]["stringData"], "KABINET_INTERNAL_SECRET"
        ),
    ),
    (
        "config",
        "not production",
        lambda d: _drop(by_kind(d, "ConfigMap")["kabinet-config"]["data"], "KABINET_ENV"),
    ),
    ("network", "no NetworkPolicy", lambda d: _remove(d, "NetworkPolicy", NETWORK_POLICY)),
    ("network", "open to anyone", lambda d: _network_rule(d).pop("from")),
    (
        "network",
        "open to a namespace",
        lambda d: _network_rule(d)["from"].append({"namespaceSelector": {}}),
    ),
    (
        "network",
        "a service left out",
        lambda d: _deployment(d, "dongle")["spec"]["template"]["metadata"]["labels"].update(
            {"app.kubernetes.io/component": "worker"}
        ),
    ),
]


@pytest.mark.parametrize(
    ("check", "breakage"),
    [(check, fn) for check, _, fn in K8S_BREAKAGES],
    ids=[f"{check}: {what}" for check, what, _ in K8S_BREAKAGES],
)
def test_k8s_check_notices(check: str, breakage: Callable[[list[Doc]], None]) -> None:
    docs, _, _ = load_k8s()
    docs = copy.deepcopy(docs)
    breakage(docs)
    assert K8S_CHECKS[check](docs)


def test_kustomization_check_notices() -> None:
    docs, kustomization, files = load_k8s()
    assert kustomization_problems(kustomization, [*files, "extra.yaml"], docs)
    short = {**kustomization, "resources": kustomization["resources"][1:]}
    assert kustomization_problems(short, files, docs)
    assert kustomization_problems({**kustomization, "namespace": "other"}, files, docs)


# --------------------------------------------------------------------------- dependency locks

RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
INCLUDE_RUNTIME = "-r requirements.lock"
# What only tests, lint and type checks use: none of it may reach the image.
DEVELOPMENT_TOOLS = {
    "pytest",
    "pytest-asyncio",
    "hypothesis",
    "schemathesis",
    "mypy",
    "ruff",
    "check-jsonschema",
    "types-pyyaml",
}
# Every process the image and `make run` start, built the way they start.
PROCESSES = [
    "gateway.app",
    *(f"services.{name}.app" for name in SERVICE_PORTS),
    "shared.cli",
    "shared.devsmtp",
    "deploy.local.run",
]
# Starts them with every distribution outside the allowed set made unimportable, as in the image
# (optional imports such as structlog's `rich` fall back the same way), and names what they load.
RUNTIME_ONLY = """
import importlib, importlib.metadata, re, sys
allowed = set(sys.argv[1].split(","))
owners = importlib.metadata.packages_distributions()
def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()
class RuntimeOnly:
    def find_spec(self, name, path=None, target=None):
        dists = owners.get(name) if "." not in name else None
        if dists and not any(normalized(dist) in allowed for dist in dists):
            raise ModuleNotFoundError(f"No module named {name!r} in the runtime lock", name=name)
sys.meta_path.insert(0, RuntimeOnly())
for name in sys.argv[2:]:
    module = importlib.import_module(name)
    if hasattr(module, "create_app"):
        module.create_app()
for name in sorted({module.split(".")[0] for module in list(sys.modules)}):
    print("loaded:", *owners.get(name, []))
"""


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def read_lock(text: str) -> tuple[set[str], list[str]]:
    """The pinned names, and the lines that are neither an exact pin nor the runtime include."""
    pinned, other = set(), []
    for line in (raw.split("#", 1)[0].strip() for raw in text.splitlines()):
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+", line):
            pinned.add(normalized(line.split("==")[0]))
        elif line and line != INCLUDE_RUNTIME:
            other.append(line)
    return pinned, other


def lock_problems(runtime_text: str, dev_text: str, pyproject: Doc) -> list[str]:
    runtime, loose = read_lock(runtime_text)
    dev, dev_loose = read_lock(dev_text)
    problems = [f"requirements.lock: {line!r} is not an exact pin" for line in loose]
    problems += [f"requirements-dev.lock: {line!r} is not an exact pin" for line in dev_loose]
    if INCLUDE_RUNTIME not in dev_text.splitlines():
        problems.append(f"requirements-dev.lock does not start from {INCLUDE_RUNTIME!r}")
    problems += [
        f"requirements.lock carries {name}" for name in sorted(DEVELOPMENT_TOOLS & runtime)
    ]
    problems += [f"{name} is pinned in both locks" for name in sorted(runtime & dev)]
    project = pyproject["project"]
    for requirement in project["dependencies"]:
        if requirement_name(requirement) not in runtime:
            problems.append(f"requirements.lock does not pin {requirement}")
    for requirement in project["optional-dependencies"]["dev"]:
        if requirement_name(requirement) not in dev:
            problems.append(f"requirements-dev.lock does not pin {requirement}")
    return problems


def image_install_problems(dockerfile: str) -> list[str]:
    installed = re.findall(r"pip install\b[^\n]*?-r\s+(\S+)", dockerfile)
    if installed != [RUNTIME_LOCK.name]:
        return [f"the image installs {installed}, not {RUNTIME_LOCK.name} alone"]
    return []


def runtime_import_problems(runtime: set[str]) -> list[str]:
    """Why the processes cannot start with the runtime lock's distributions alone."""
    result = subprocess.run(
        [sys.executable, "-c", RUNTIME_ONLY, ",".join(runtime | {"kabinet"}), *PROCESSES],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        return [f"the processes do not start: {result.stderr.strip().splitlines()[-1]}"]
    if "loaded: fastapi" not in result.stdout:
        return ["the processes were not loaded"]
    return []


def test_the_image_gets_runtime_dependencies_only() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert lock_problems(RUNTIME_LOCK.read_text(), DEV_LOCK.read_text(), pyproject) == []
    assert image_install_problems((ROOT / "Dockerfile").read_text()) == []


def test_the_runtime_lock_is_enough_to_start_every_process() -> None:
    runtime, _ = read_lock(RUNTIME_LOCK.read_text())
    assert runtime_import_problems(runtime) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda runtime, dev: (runtime + "mypy==2.4.1\n", dev),
        lambda runtime, dev: (runtime + "hypothesis==6.170.15\n", dev),
        lambda runtime, dev: (runtime + "schemathesis>=4\n", dev),
        lambda runtime, dev: (runtime.replace("fastapi==", "fastapi>="), dev),
        lambda runtime, dev: (re.sub(r"(?m)^aiosmtplib==.*$", "", runtime), dev),
        lambda runtime, dev: (runtime, dev.replace(INCLUDE_RUNTIME, "")),
        lambda runtime, dev: (runtime, re.sub(r"(?m)^pytest==.*$", "", dev)),
        lambda runtime, dev: (runtime, dev + "fastapi==0.165.0\n"),
    ],
    ids=[
        "mypy at runtime",
        "hypothesis at runtime",
        "schemathesis at runtime",
        "a loose runtime pin",
        "a runtime dependency unpinned",
        "dev lock without the runtime",
        "pytest unpinned",
        "pinned twice",
    ],
)
def test_lock_check_notices(breakage: Callable[[str, str], tuple[str, str]]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime, dev = breakage(RUNTIME_LOCK.read_text(), DEV_LOCK.read_text())
    assert lock_problems(runtime, dev, pyproject)


def test_image_install_check_notices() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert image_install_problems(
        dockerfile.replace("-r requirements.lock", "-r requirements-dev.lock")
    )
    assert image_install_problems(dockerfile + "RUN pip install -r requirements-dev.lock\n")


def test_runtime_import_check_notices() -> None:
    runtime, _ = read_lock(RUNTIME_LOCK.read_text())
    for name in ("fastapi", "aiosmtpd", "pymorphy3"):
        problems = runtime_import_problems(runtime - {name})
        assert len(problems) == 1
        assert "in the runtime lock" in problems[0]
