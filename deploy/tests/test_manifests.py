"""The deployment files agree with the services: every required setting is provided, no
variable is misspelt, every service is probed and runs unprivileged, and nothing routes
`/internal/*` from outside."""

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from settings_reference import SERVICES, variables

ROOT = Path(__file__).resolve().parents[2]

NAMES = [service for service, _ in SERVICES]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def k8s_documents(service: str) -> dict[str, dict[str, Any]]:
    path = ROOT / "deploy" / "k8s" / "base" / f"{service}.yaml"
    return {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text())}


def known(service: str) -> tuple[set[str], set[str]]:
    """(every variable of the service, the required ones)."""
    settings = dict(SERVICES)[service]
    found = list(variables(settings))
    return {v.name for v in found}, {v.name for v in found if v.default is None}


@pytest.mark.parametrize("service", NAMES)
def test_compose_gives_each_service_every_required_setting_and_no_unknown_one(
    service: str,
) -> None:
    names, required = known(service)
    environment = set(compose()["services"][service]["environment"])
    # OpenTelemetry's own variables (the trace exporter's), read by the SDK, not settings.
    environment -= {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}
    assert required <= environment, f"missing: {sorted(required - environment)}"
    assert environment <= names, f"not settings of {service}: {sorted(environment - names)}"


@pytest.mark.parametrize("service", NAMES)
def test_compose_starts_each_service_after_its_database_and_broker_are_healthy(
    service: str,
) -> None:
    definition = compose()["services"][service]
    assert definition["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert definition["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    assert "/readyz" in " ".join(definition["healthcheck"]["test"])


@pytest.mark.parametrize("service", NAMES)
def test_k8s_config_and_secret_keys_are_settings_of_the_service(service: str) -> None:
    names, required = known(service)
    config = set(k8s_documents(service)["ConfigMap"]["data"])
    secret_file = ROOT / "deploy" / "k8s" / "secrets" / f"{service}.env.example"
    secret = {
        line.split("=", 1)[0]
        for line in secret_file.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert config | secret <= names
    assert required <= config | secret
    assert not config & secret


@pytest.mark.parametrize("service", NAMES)
def test_k8s_runs_two_probed_unprivileged_replicas_at_least(service: str) -> None:
    documents = k8s_documents(service)
    deployment = documents["Deployment"]["spec"]
    assert deployment["replicas"] >= 2
    assert documents["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def ingresses() -> list[dict[str, Any]]:
    path = ROOT / "deploy" / "k8s" / "base" / "ingress.yaml"
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_the_ingress_never_routes_internal_paths() -> None:
    paths = [
        p["path"]
        for ingress in ingresses()
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]
    assert paths
    assert not any(path == "/" or path.startswith("/internal") for path in paths)


def test_no_public_path_of_one_service_shadows_another_on_the_same_host() -> None:
    """`/orders` (payments) and `/orders/{id}/link` (delivery) on one host would send
    the customer's order page to the wrong service."""
    for rule in [rule for ingress in ingresses() for rule in ingress["spec"]["rules"]]:
        routes = [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]]
        for path, service in routes:
            for other_path, other_service in routes:
                if service != other_service:
                    assert not other_path.startswith(path), (rule["host"], path, other_path)


def test_every_service_the_ingress_routes_to_trusts_a_proxy_network() -> None:
    """Without it, every request would be logged, rate-limited and audited as coming from
    the ingress controller's pod."""
    routed = {
        p["backend"]["service"]["name"]
        for ingress in ingresses()
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert routed
    for service in routed:
        settings = dict(SERVICES)[service]
        prefix = str(settings.model_config.get("env_prefix", ""))
        value = k8s_documents(service)["ConfigMap"]["data"].get(f"{prefix}TRUSTED_PROXIES", "")
        assert value, f"{service} trusts no proxy"
        assert all(ipaddress.ip_network(part.strip()) for part in value.split(","))


@pytest.mark.parametrize("service", NAMES)
def test_compose_sends_each_services_traces_to_jaeger(service: str) -> None:
    services = compose()["services"]
    environment = services[service]["environment"]
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert environment["OTEL_SERVICE_NAME"] == service
    assert services["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]
