"""What the cluster lets in and out, for tools/k8s.py: the Ingresses (the shop and key
hosts with the public routes only; the admin UI on a host of its own behind an
allow-list) and the NetworkPolicies (deny everything, then allow each service its own
peers: its database, the broker, DNS, what it calls, and who calls it).

Names marked PLACEHOLDER are the cluster's own: patch them in an overlay
(docs/operations.md, "Kubernetes")."""

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import JsonValue

SHOP_HOST, KEYS_HOST = "shop.bitloot.example", "keys.bitloot.example"
ADMIN_HOST = "admin.bitloot.example"
# Public paths per host and service; /internal/*, /metrics and the probes are never routed
# from outside. Delivery has a host of its own: its `/orders/{id}/link` and payments'
# `/orders/{id}` could not share one by path prefix.
PUBLIC_PATHS = {
    SHOP_HOST: {
        "payments": ["/orders", "/payments/ipn", "/payments/payout-ipn", "/refunds/claim"],
        "kinguin-gateway": ["/kinguin/webhooks"],
        "fulfillment": ["/ws/orders"],
    },
    KEYS_HOST: {"delivery": ["/keys", "/orders"]},
}
ADMIN_PATHS = {ADMIN_HOST: {"admin": ["/admin"]}}
ALLOW_LIST_ANNOTATION = "nginx.ingress.kubernetes.io/whitelist-source-range"
# PLACEHOLDER: the networks allowed to reach the admin UI (your office or VPN egress), comma-
# separated. 192.0.2.0/24 is a documentation range (RFC 5737): nobody is let in until set.
ADMIN_ALLOWED_SOURCES = "192.0.2.0/24"

PORT = 8000  # every service's container port: public routes, /internal/* and /metrics
# The settings naming what a service calls outside the cluster (the providers' APIs, the S3
# endpoint, a trace collector); not the links it hands customers (PUBLIC_URL, CANCEL_URL).
EGRESS_URL = re.compile(r"(_API_URL|_ENDPOINT_URL|^OTEL_EXPORTER_OTLP(_TRACES)?_ENDPOINT)$")


def egress_ports(environment: Mapping[str, str]) -> set[int]:
    """The ports a service's configuration (its ConfigMap) makes it call out on: each
    egress URL's port (443 for https, 80 for http unless named) and the SMTP port."""
    ports = set()
    for name, value in environment.items():
        if name.endswith("_SMTP_PORT") and value.strip():
            ports.add(int(value))
        elif EGRESS_URL.search(name) and "://" in value:
            url = urlsplit(value)
            ports.add(url.port or (443 if url.scheme == "https" else 80))
    return ports


def _namespace(name: str) -> dict[str, JsonValue]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def _pods(name: str) -> dict[str, JsonValue]:
    return {"matchLabels": {"app.kubernetes.io/name": name}}


# PLACEHOLDER peers outside the namespace: the ingress-nginx controller and the Prometheus
# Operator's Prometheus with their charts' labels; CoreDNS; the PostgreSQL servers (one per
# service, its own database) and RabbitMQ in namespace bitloot-data.
INGRESS_CONTROLLER: dict[str, JsonValue] = {
    "namespaceSelector": _namespace("ingress-nginx"),
    "podSelector": _pods("ingress-nginx"),
}
PROMETHEUS: dict[str, JsonValue] = {
    "namespaceSelector": _namespace("monitoring"),
    "podSelector": _pods("prometheus"),
}
DNS: dict[str, JsonValue] = {
    "namespaceSelector": _namespace("kube-system"),
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
DATA_NAMESPACE = "bitloot-data"
BROKER: dict[str, JsonValue] = {
    "namespaceSelector": _namespace(DATA_NAMESPACE),
    "podSelector": _pods("rabbitmq"),
}
# The providers (NOWPayments, Kinguin, the S3 store, the SMTP relay) are outside the cluster
# at addresses that change: any public address, never a private one (pods, nodes, the
# cloud's metadata service). A CNI with DNS-aware policies can narrow this to their names.
INTERNET: dict[str, JsonValue] = {
    "ipBlock": {
        "cidr": "0.0.0.0/0",
        "except": [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "127.0.0.0/8",
        ],
    }
}


def database(service: str) -> dict[str, JsonValue]:
    """The service's own PostgreSQL server's pods."""
    return {
        "namespaceSelector": _namespace(DATA_NAMESPACE),
        "podSelector": _pods(f"postgres-{service}"),
    }


def _tcp(*ports: int) -> list[JsonValue]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def ingress(
    name: str, paths: dict[str, dict[str, list[str]]], tls: str, annotations: dict[str, str]
) -> dict[str, JsonValue]:
    rules: list[JsonValue] = [
        {
            "host": host,
            "http": {
                "paths": [
                    {
                        "path": path,
                        "pathType": "Prefix",
                        "backend": {"service": {"name": service, "port": {"name": "http"}}},
                    }
                    for service, prefixes in services.items()
                    for path in prefixes
                ]
            },
        }
        for host, services in paths.items()
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "bitloot"},
            "annotations": {**annotations},
        },
        "spec": {"tls": [{"hosts": [*paths], "secretName": tls}], "rules": rules},
    }


# What the public Ingress asks of ingress-nginx per client: open connections at once (a
# slowloris flood from one address) and the largest request body (checkout's and the
# webhooks' bodies are a few KB). Header and body read timeouts are the controller's
# ConfigMap settings (client-header-timeout, client-body-timeout: 60 s by default).
PUBLIC_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/limit-connections": "20",
    "nginx.ingress.kubernetes.io/proxy-body-size": "64k",
}


def ingresses() -> list[dict[str, JsonValue]]:
    """The public Ingress, limited per client, and the admin's on its own host, open to the
    allow-list only."""
    admin = ingress(
        "bitloot-admin",
        ADMIN_PATHS,
        "bitloot-admin-tls",
        {ALLOW_LIST_ANNOTATION: ADMIN_ALLOWED_SOURCES},
    )
    public = ingress("bitloot", PUBLIC_PATHS, "bitloot-tls", PUBLIC_ANNOTATIONS)
    return [public, admin]


def routed() -> set[str]:
    """The services an Ingress sends requests to."""
    hosts = {**PUBLIC_PATHS, **ADMIN_PATHS}
    return {service for services in hosts.values() for service in services}


def _policy(name: str, spec: dict[str, JsonValue]) -> dict[str, JsonValue]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "bitloot"}},
        "spec": {"policyTypes": ["Ingress", "Egress"], **spec},
    }


def _dns() -> dict[str, JsonValue]:
    return {"to": [DNS], "ports": [{"protocol": "UDP", "port": 53}, *_tcp(53)]}


def calls(service: str, internet: set[int]) -> list[dict[str, JsonValue]]:
    """What a service calls besides its database, the broker and DNS: public addresses on
    the ports its configuration names (NOWPayments, Kinguin, S3, SMTP), and for the admin
    the four other services."""
    rules: list[dict[str, JsonValue]] = (
        [{"to": [INTERNET], "ports": _tcp(*sorted(internet))}] if internet else []
    )
    if service == "admin":
        others = ("payments", "kinguin-gateway", "fulfillment", "delivery")
        rules.append({"to": [{"podSelector": _pods(s)} for s in others], "ports": _tcp(PORT)})
    return rules


def service_policy(service: str, internet: set[int]) -> dict[str, JsonValue]:
    callers: list[JsonValue] = [PROMETHEUS]  # /metrics
    if service in routed():
        callers.append(INGRESS_CONTROLLER)  # the public routes (the admin UI for admin)
    if service != "admin":
        callers.append({"podSelector": _pods("admin")})  # /internal/*
    return _policy(
        service,
        {
            "podSelector": _pods(service),
            "ingress": [{"from": callers, "ports": _tcp(PORT)}],
            "egress": [
                _dns(),
                {"to": [database(service)], "ports": _tcp(5432)},
                {"to": [BROKER], "ports": _tcp(5672)},
                *calls(service, internet),
            ],
        },
    )


def network_policies(
    configs: Mapping[str, Mapping[str, str]], jobs: list[str]
) -> list[dict[str, JsonValue]]:
    """Deny all, then one policy per service (`configs`: each service's ConfigMap, whose
    URLs and SMTP port name the ports it calls out on), and one per job (DNS and the
    broker's management API, nothing in)."""
    deny = _policy("default-deny", {"podSelector": {}})
    per_job = [
        _policy(
            job,
            {"podSelector": _pods(job), "egress": [_dns(), {"to": [BROKER], "ports": _tcp(15672)}]},
        )
        for job in jobs
    ]
    services = [service_policy(name, egress_ports(config)) for name, config in configs.items()]
    return [deny, *services, *per_job]
