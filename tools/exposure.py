"""What the deployment files expose, checked on what they render to (`make deploy-check`).

    python tools/exposure.py compose A.yml B.yml   # `docker compose config` output, twice,
                                                   # from two `make compose-env` files
    python tools/exposure.py k8s BUILT.yml         # `kubectl kustomize <overlay>` output

Compose: no port published beyond 127.0.0.1 but the TLS proxy's 80 and 443; no guest user
and no password that is the same in both renders (so fixed in the file, not from .env);
RabbitMQ's files keep guest off the network and create no user. Kubernetes: the admin UI
on a host of its own, behind an allow-list, and on no other host; no Ingress routes
/internal, /metrics, a probe or `/`; a default-deny NetworkPolicy, every Deployment and
Job selected by a policy of both directions, and every peer of every policy one that
service is allowed (its database, the broker, DNS, what it calls, who calls it)."""

import argparse
import ipaddress
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
RABBITMQ = ROOT / "deploy" / "rabbitmq"
PROXY = "proxy"
PROXY_PORTS = {80, 443}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|PRIVATE_KEY|_KEYS$|API_KEY", re.IGNORECASE)
ADMIN = "admin"
ALLOW_LIST = "nginx.ingress.kubernetes.io/whitelist-source-range"
NEVER_ROUTED = ("/internal", "/metrics", "/healthz", "/readyz")
SERVICES = ("payments", "kinguin-gateway", "fulfillment", "delivery", "admin")

# --- compose -------------------------------------------------------------------------


def published(port: str | dict[str, Any]) -> tuple[str, str] | None:
    """(host address, host port) of a published port in either syntax; None if unpublished."""
    if isinstance(port, dict):
        if port.get("published") in (None, ""):
            return None
        return str(port.get("host_ip") or "0.0.0.0"), str(port["published"])  # noqa: S104
    spec = port.split("/", 1)[0]
    if spec.startswith("["):  # [::1]:5432:5432
        host, _, rest = spec[1:].partition("]:")
        return host, rest.split(":", 1)[0]
    parts = spec.split(":")
    if len(parts) == 1:
        return None
    if len(parts) == 2:
        return "0.0.0.0", parts[0]  # noqa: S104
    return parts[0], parts[1]


def _secrets(config: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(service, variable, value) of every password-like value: secret-named variables and
    the password inside any URL."""
    for name, service in config.get("services", {}).items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for variable, value in environment.items():
            value = "" if value is None else str(value)
            if SECRET_NAME.search(variable) and not variable.endswith("_ID"):
                yield name, variable, value
            if "://" in value:
                password = urlsplit(value).password
                if password is not None:
                    yield name, f"{variable} (URL password)", password


def compose_problems(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """`first` and `second`: the same compose file rendered with two generated .env files."""
    problems = []
    for name, service in first.get("services", {}).items():
        for port in service.get("ports") or []:
            found = published(port)
            if found is None:
                continue
            host, number = found
            if name == PROXY and int(number) in PROXY_PORTS:
                continue
            if host not in LOOPBACK:
                problems.append(f"compose: {name} publishes port {number} on {host}")
    again = {(s, v): value for s, v, value in _secrets(second)}
    for service, variable, value in _secrets(first):
        if value and again.get((service, variable)) == value:
            problems.append(f"compose: {service} {variable} is fixed, not generated into .env")
        if value.lower() == "guest" or "guest:guest" in value:
            problems.append(f"compose: {service} {variable} uses guest")
    for service, variable, value in _urls(first):
        if urlsplit(value).username == "guest":
            problems.append(f"compose: {service} {variable} connects as guest")
    return problems + rabbitmq_problems()


def _urls(config: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for name, service in config.get("services", {}).items():
        environment = service.get("environment") or {}
        if isinstance(environment, dict):
            for variable, value in environment.items():
                if isinstance(value, str) and "://" in value:
                    yield name, variable, value


def rabbitmq_problems(directory: Path = RABBITMQ) -> list[str]:
    """The broker's files: no user in the definitions, guest never allowed from afar."""
    problems = []
    definitions = json.loads((directory / "definitions.json").read_text())
    if definitions.get("users") or definitions.get("permissions"):
        problems.append("rabbitmq: definitions.json creates users (the user comes from .env)")
    config = (directory / "rabbitmq.conf").read_text()
    settings = {
        key.strip(): value.strip()
        for key, _, value in (
            line.partition("=")
            for line in config.splitlines()
            if line.strip() and not line.startswith("#")
        )
    }
    if settings.get("loopback_users") == "none" or settings.get("loopback_users.guest") == "false":
        problems.append("rabbitmq: rabbitmq.conf lets guest connect from other hosts")
    if "load_definitions" in settings:
        problems.append("rabbitmq: definitions loaded at boot stop the image creating its user")
    return problems


# --- kubernetes ----------------------------------------------------------------------


def _name_label(selector: dict[str, Any] | None) -> str | None:
    labels: dict[str, str] = (selector or {}).get("matchLabels", {})
    return labels.get("app.kubernetes.io/name") or labels.get("k8s-app")


def peer_kind(peer: dict[str, Any]) -> str:
    """What a NetworkPolicy peer is, as one word: `pods:<name>` in the namespace,
    `<namespace>/<name>` elsewhere, `internet` for public addresses, else `unknown`."""
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        excepted = {ipaddress.ip_network(cidr) for cidr in block.get("except", [])}
        private = [
            ipaddress.ip_network(c)
            for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
        ]
        if block.get("cidr") == "0.0.0.0/0" and all(net in excepted for net in private):
            return "internet"
        return f"ipBlock:{block.get('cidr')}"
    name = _name_label(peer.get("podSelector"))
    if "namespaceSelector" in peer:
        labels = peer["namespaceSelector"].get("matchLabels", {})
        namespace = labels.get("kubernetes.io/metadata.name")
        if namespace is None or name is None:
            return "unknown"
        return f"{namespace}/{name}"
    return f"pods:{name}" if name else "unknown"


DNS = "kube-system/kube-dns"
EDGE = "ingress-nginx/ingress-nginx"
PROMETHEUS = "monitoring/prometheus"
BROKER = "bitloot-data/rabbitmq"
# Who may reach each service, and whom it may reach (besides DNS and the broker).
ALLOWED_FROM = {
    "payments": {EDGE, PROMETHEUS, "pods:admin"},
    "kinguin-gateway": {EDGE, PROMETHEUS, "pods:admin"},
    "fulfillment": {EDGE, PROMETHEUS, "pods:admin"},
    "delivery": {EDGE, PROMETHEUS, "pods:admin"},
    "admin": {EDGE, PROMETHEUS},
    "rabbitmq-policy": set(),
}
ALLOWED_TO = {
    "payments": {"bitloot-data/postgres-payments", "internet"},
    "kinguin-gateway": {"bitloot-data/postgres-kinguin-gateway", "internet"},
    "fulfillment": {"bitloot-data/postgres-fulfillment"},
    "delivery": {"bitloot-data/postgres-delivery", "internet"},
    "admin": {"bitloot-data/postgres-admin", *(f"pods:{s}" for s in SERVICES if s != ADMIN)},
    "rabbitmq-policy": set(),
}
INTERNET_PORTS = {"payments": {443}, "kinguin-gateway": {443}, "delivery": {443, 587}}


def _rule_problems(workload: str, direction: str, rules: list[dict[str, Any]]) -> Iterator[str]:
    allowed = (
        {DNS, BROKER} | ALLOWED_TO[workload] if direction == "egress" else ALLOWED_FROM[workload]
    )
    for rule in rules:
        peers = rule.get("to" if direction == "egress" else "from")
        if not peers:
            yield f"k8s: {workload}'s {direction} rule allows every peer"
            continue
        ports = {port.get("port") for port in rule.get("ports") or []}
        for peer in peers:
            kind = peer_kind(peer)
            if kind not in allowed:
                yield f"k8s: {workload}'s {direction} reaches {kind}, not an allowed peer"
            elif kind == "internet" and (
                not ports or not ports <= INTERNET_PORTS.get(workload, set())
            ):
                yield f"k8s: {workload} reaches the internet on ports {sorted(ports, key=str)}"


def k8s_problems(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Problems of a built overlay (every document of `kubectl kustomize`)."""
    docs = [doc for doc in documents if doc]
    problems = _ingress_problems([d for d in docs if d["kind"] == "Ingress"])
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    denies = [
        p
        for p in policies
        if p["spec"].get("podSelector") in ({}, None)
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    if not denies:
        problems.append("k8s: no default-deny NetworkPolicy (empty podSelector, both directions)")
    workloads = [
        d["spec"]["template"].get("metadata", {}).get("labels", {}).get("app.kubernetes.io/name")
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    ]
    for workload in workloads:
        own = [p for p in policies if _name_label(p["spec"].get("podSelector")) == workload]
        if workload not in ALLOWED_TO:
            problems.append(f"k8s: {workload} has no allowed peers defined in tools/exposure.py")
            continue
        if not own:
            problems.append(f"k8s: no NetworkPolicy selects {workload}")
        for policy in own:
            spec = policy["spec"]
            if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
                problems.append(f"k8s: {policy['metadata']['name']} does not cover both directions")
            problems += _rule_problems(workload, "ingress", spec.get("ingress", []))
            problems += _rule_problems(workload, "egress", spec.get("egress", []))
    return problems


def _ingress_problems(ingresses: list[dict[str, Any]]) -> list[str]:
    problems = []
    admin_hosts: set[str] = set()
    other_hosts: set[str] = set()
    for ingress in ingresses:
        name = ingress["metadata"]["name"]
        routes = [
            (rule.get("host", "*"), path.get("path", "/"), path["backend"]["service"]["name"])
            for rule in ingress["spec"].get("rules", [])
            for path in rule.get("http", {}).get("paths", [])
        ]
        if ingress["spec"].get("defaultBackend"):
            problems.append(f"k8s: Ingress {name} has a default backend (routes every path)")
        for host, path, service in routes:
            if path in ("", "/") or path.startswith(NEVER_ROUTED):
                problems.append(f"k8s: Ingress {name} routes {host}{path}")
            if path.startswith("/admin") and service != ADMIN:
                problems.append(f"k8s: Ingress {name} routes {host}{path} to {service}")
        services = {service for _, _, service in routes}
        if ADMIN in services:
            if services != {ADMIN}:
                problems.append(
                    f"k8s: Ingress {name} serves admin beside {sorted(services - {ADMIN})}"
                )
            problems += _allow_list_problems(name, ingress["metadata"].get("annotations") or {})
        admin_hosts |= {host for host, _, service in routes if service == ADMIN}
        other_hosts |= {host for host, _, service in routes if service != ADMIN}
    if admin_hosts & other_hosts or "*" in admin_hosts:
        problems.append(
            f"k8s: admin shares a host with the shop: {sorted(admin_hosts & other_hosts)}"
        )
    return problems


def _allow_list_problems(name: str, annotations: dict[str, str]) -> list[str]:
    sources = [part.strip() for part in annotations.get(ALLOW_LIST, "").split(",") if part.strip()]
    if not sources:
        return [f"k8s: Ingress {name} serves admin with no {ALLOW_LIST} annotation"]
    problems = []
    for source in sources:
        try:
            network = ipaddress.ip_network(source)
        except ValueError:
            problems.append(f"k8s: Ingress {name} allow-list entry {source!r} is not a CIDR")
            continue
        if network.prefixlen == 0:
            problems.append(f"k8s: Ingress {name} allow-list lets everyone in ({source})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("compose", "k8s"))
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.kind == "compose":
        if len(args.files) != 2:
            parser.error("compose needs two renders")
        first, second = (yaml.safe_load(path.read_text()) for path in args.files)
        problems = compose_problems(first, second)
    else:
        problems = [
            p for path in args.files for p in k8s_problems(yaml.safe_load_all(path.read_text()))
        ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
