"""What the deployment files expose, checked on what they render to (`make deploy-check`).

    python tools/exposure.py compose A.yml B.yml   # `docker compose config` output, twice,
                                                   # from two `make compose-env` files
    python tools/exposure.py public A.yml B.yml    # the same with deploy/compose/public.yml
    python tools/exposure.py fill-env FILE.env     # fills its empty BITLOOT_PROD_* lines
                                                   # (test values, for the public render)
    python tools/exposure.py k8s BUILT.yml         # `kubectl kustomize <overlay>` output

Compose: no port published beyond 127.0.0.1 but the TLS proxy's 80 and 443; no guest user
and no password that is the same in both renders (so fixed in the file, not from .env);
RabbitMQ's files keep guest off the network and create no user. With
deploy/compose/public.yml (serving customers): no provider sandbox runs, and no service
calls a provider API, an S3 endpoint or an SMTP host inside compose or on loopback, or
hands customers a link that is not https. Kubernetes: the admin UI
on a host of its own, behind an allow-list no wider than a /8 (/32 for IPv6) per entry
and not covering everything together, and on no other host; every Ingress path one of
the public routes of tools/k8s_exposure.py, by Prefix or Exact; a default-deny
NetworkPolicy, and every other policy selecting exactly one known workload by name;
every workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) selected by a policy
of both directions, every peer of every rule one that workload is allowed (its database,
the broker, DNS, what it calls, who calls it) on that peer's ports only, and every port
its ConfigMap makes it call out on (provider and S3 URLs, SMTP, a trace collector)
allowed by its egress."""

import argparse
import ipaddress
import json
import re
import secrets
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from k8s_exposure import ADMIN_PATHS, PUBLIC_PATHS, egress_ports

ROOT = Path(__file__).resolve().parent.parent
RABBITMQ = ROOT / "deploy" / "rabbitmq"
PROXY = "proxy"
PROXY_PORTS = {80, 443}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|PRIVATE_KEY|_KEYS$|API_KEY", re.IGNORECASE)
ADMIN = "admin"
ALLOW_LIST = "nginx.ingress.kubernetes.io/whitelist-source-range"
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
    for name, variable, value in _environment(config.get("services", {})):
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
    for service, variable, value in _environment(first.get("services", {})):
        if "://" in value and urlsplit(value).username == "guest":
            problems.append(f"compose: {service} {variable} connects as guest")
    return problems + rabbitmq_problems()


ACTIVE_PROFILES = {PROXY}
# What a service must reach outside compose when it serves customers, and the links it
# hands them.
PROVIDER_SETTING = re.compile(r"(_API_URL|_S3_ENDPOINT_URL|_SMTP_HOST)$")
LINK_SETTING = re.compile(r"(_PUBLIC_URL|_REFUND_CLAIM_URL|_LIVE_STATUS_URL)$")


def active(config: dict[str, Any], profiles: set[str] = ACTIVE_PROFILES) -> dict[str, Any]:
    """The services `--profile proxy up` starts (docker-compose v1's `config` also prints
    the others)."""
    services: dict[str, Any] = config.get("services", {})
    return {
        name: service
        for name, service in services.items()
        if not service.get("profiles") or set(service["profiles"]) & profiles
    }


def public_problems(config: dict[str, Any]) -> list[str]:
    """A render of docker-compose.yml with deploy/compose/public.yml: real providers only."""
    services = active(config)
    problems = [f"compose (public): {name} runs" for name in services if "sandbox" in name]
    for service, variable, value in _environment(services):
        if PROVIDER_SETTING.search(variable):
            host = urlsplit(value).hostname if "://" in value else value
            if host in services or host in LOOPBACK or not host or "." not in host:
                problems.append(
                    f"compose (public): {service} {variable} is {value!r}, not the provider's"
                )
        if LINK_SETTING.search(variable) and not value.startswith(("https://", "wss://")):
            problems.append(f"compose (public): {service} {variable} {value!r} is not https")
    return problems


def _environment(services: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for name, service in services.items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for variable, value in environment.items():
            yield name, variable, "" if value is None else str(value)


PROD_BLANK = re.compile(r"^(BITLOOT_PROD_\w+)=$", re.MULTILINE)


def fill_blanks(env: str) -> str:
    """`make compose-env` with hosts leaves the real providers' settings empty for the
    operator; the check fills them with fresh test values (a different one per render)."""

    def value(match: re.Match[str]) -> str:
        name, token = match.group(1), f"check-{secrets.token_hex(12)}"
        if name.endswith("_URL"):
            token = f"https://{token}.example"
        elif name.endswith("_HOST"):
            token = f"{token}.example"
        elif name.endswith(("_EMAIL", "_FROM")):
            token = f"{token}@example.com"
        return f"{name}={token}"

    return PROD_BLANK.sub(value, env)


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
JOB = "rabbitmq-policy"
PORT, DATABASE_PORT, BROKER_PORT, MANAGEMENT_PORT = 8000, 5432, 5672, 15672
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# Who may reach each workload (on PORT only).
ALLOWED_FROM = {
    "payments": {EDGE, PROMETHEUS, "pods:admin"},
    "kinguin-gateway": {EDGE, PROMETHEUS, "pods:admin"},
    "fulfillment": {EDGE, PROMETHEUS, "pods:admin"},
    "delivery": {EDGE, PROMETHEUS, "pods:admin"},
    "admin": {EDGE, PROMETHEUS},
    JOB: set(),
}
Ports = set[tuple[str, int | str]]


def _tcp(*ports: int) -> Ports:
    found: Ports = {("TCP", port) for port in ports}
    return found


def allowed_peers(workload: str, direction: str, internet: set[int]) -> dict[str, Ports]:
    """Each peer `workload` may talk to in `direction`, and on which (protocol, port)s.
    `internet`: the ports its configuration calls out on (egress_ports)."""
    if direction == "ingress":
        return {peer: _tcp(PORT) for peer in ALLOWED_FROM[workload]}
    allowed: dict[str, Ports] = {DNS: {("UDP", 53), ("TCP", 53)}}
    if workload == JOB:  # the broker's management API, nothing else
        return {**allowed, BROKER: _tcp(MANAGEMENT_PORT)}
    allowed[BROKER] = _tcp(BROKER_PORT)
    allowed[f"bitloot-data/postgres-{workload}"] = _tcp(DATABASE_PORT)
    if workload == ADMIN:
        allowed |= {f"pods:{s}": _tcp(PORT) for s in SERVICES if s != ADMIN}
    if internet:
        allowed["internet"] = _tcp(*internet)
    return allowed


def _rule_ports(rule: dict[str, Any]) -> Ports | None:
    """The (protocol, port)s a rule allows; None if it allows every port (no `ports`, a
    port left out, or a range)."""
    ports: Ports = set()
    for port in rule.get("ports") or []:
        if port.get("port") is None or "endPort" in port:
            return None
        ports.add((port.get("protocol", "TCP"), port["port"]))
    return ports or None


def _rule_problems(
    workload: str, direction: str, rules: list[dict[str, Any]], internet: set[int]
) -> Iterator[str]:
    allowed = allowed_peers(workload, direction, internet)
    for rule in rules:
        peers = rule.get("to" if direction == "egress" else "from")
        if not peers:
            yield f"k8s: {workload}'s {direction} rule allows every peer"
            continue
        ports = _rule_ports(rule)
        for peer in peers:
            kind = peer_kind(peer)
            if kind not in allowed:
                yield f"k8s: {workload}'s {direction} reaches {kind}, not an allowed peer"
            elif ports is None:
                yield f"k8s: {workload}'s {direction} allows every port of {kind}"
            elif not ports <= allowed[kind]:
                shown = sorted(f"{port}/{protocol}" for protocol, port in ports - allowed[kind])
                yield f"k8s: {workload}'s {direction} allows {kind} on {shown}"


def _is_default_deny(spec: dict[str, Any]) -> bool:
    return (
        spec.get("podSelector") in ({}, None)
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def _selected_workload(spec: dict[str, Any]) -> str | None:
    """The one known workload a policy selects by name alone, else None."""
    selector = spec.get("podSelector") or {}
    labels = selector.get("matchLabels") or {}
    if set(selector) != {"matchLabels"} or set(labels) != {"app.kubernetes.io/name"}:
        return None
    name: str = labels["app.kubernetes.io/name"]
    return name if name in ALLOWED_FROM else None


def _template(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: dict[str, Any] = spec["template"]
    return template


def _configuration(template: dict[str, Any], configs: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment a pod template's containers get from ConfigMaps and literal values."""
    environment: dict[str, str] = {}
    for container in template["spec"].get("containers", []):
        for source in container.get("envFrom", []):
            name = (source.get("configMapRef") or {}).get("name")
            environment |= configs.get(name, {}) if name else {}
        environment |= {
            item["name"]: str(item["value"])
            for item in container.get("env", [])
            if item.get("value") is not None
        }
    return environment


def k8s_problems(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Problems of a built overlay (every document of `kubectl kustomize`)."""
    docs = [doc for doc in documents if doc]
    problems = _ingress_problems([d for d in docs if d["kind"] == "Ingress"])
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if not any(_is_default_deny(p["spec"]) for p in policies):
        problems.append("k8s: no default-deny NetworkPolicy (empty podSelector, both directions)")
    for policy in policies:
        spec = policy["spec"]
        if not _is_default_deny(spec) and _selected_workload(spec) is None:
            problems.append(
                f"k8s: NetworkPolicy {policy['metadata']['name']} selects "
                f"{spec.get('podSelector')}, neither all pods with no rule (default deny) "
                "nor one known workload by app.kubernetes.io/name"
            )
    configs = {
        d["metadata"]["name"]: {k: str(v) for k, v in (d.get("data") or {}).items()}
        for d in docs
        if d["kind"] == "ConfigMap"
    }
    for document in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
        template = _template(document)
        workload = template.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/name")
        if workload not in ALLOWED_FROM:
            problems.append(
                f"k8s: {document['kind']} {document['metadata']['name']} ({workload}) has no "
                "allowed peers defined in tools/exposure.py"
            )
            continue
        internet = egress_ports(_configuration(template, configs))
        own = [p for p in policies if _selected_workload(p["spec"]) == workload]
        if not own:
            problems.append(f"k8s: no NetworkPolicy selects {workload}")
        allowed_out: Ports = set()
        for policy in own:
            spec = policy["spec"]
            if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
                problems.append(f"k8s: {policy['metadata']['name']} does not cover both directions")
            problems += _rule_problems(workload, "ingress", spec.get("ingress", []), internet)
            problems += _rule_problems(workload, "egress", spec.get("egress", []), internet)
            allowed_out |= {
                port for rule in spec.get("egress", []) for port in _rule_ports(rule) or set()
            }
        problems += [
            f"k8s: {workload} calls out on port {port} (its configuration) but no egress "
            "rule allows it"
            for port in sorted(internet)
            if ("TCP", port) not in allowed_out
        ]
    return problems


def _public_routes() -> set[tuple[str, str]]:
    """(service, path) of every route an Ingress may have (tools/k8s_exposure.py)."""
    hosts = {**PUBLIC_PATHS, **ADMIN_PATHS}
    return {
        (service, path)
        for services in hosts.values()
        for service, paths in services.items()
        for path in paths
    }


def _ingress_problems(ingresses: list[dict[str, Any]]) -> list[str]:
    problems = []
    admin_hosts: set[str] = set()
    other_hosts: set[str] = set()
    public = _public_routes()
    for ingress in ingresses:
        name = ingress["metadata"]["name"]
        routes = [
            (rule.get("host", "*"), path, path["backend"]["service"]["name"])
            for rule in ingress["spec"].get("rules", [])
            for path in rule.get("http", {}).get("paths", [])
        ]
        if ingress["spec"].get("defaultBackend"):
            problems.append(f"k8s: Ingress {name} has a default backend (routes every path)")
        for host, route, service in routes:
            path = route.get("path", "/")
            if (service, path) not in public:
                problems.append(
                    f"k8s: Ingress {name} routes {host}{path} to {service}, not a public route"
                )
            if route.get("pathType") not in ("Prefix", "Exact"):
                problems.append(
                    f"k8s: Ingress {name} routes {host}{path} with pathType "
                    f"{route.get('pathType')} (only Prefix or Exact)"
                )
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


# An allow-list entry wider than these lets in a good part of the internet.
SHORTEST_PREFIX = {4: 8, 6: 32}


def _allow_list_problems(name: str, annotations: dict[str, str]) -> list[str]:
    sources = [part.strip() for part in annotations.get(ALLOW_LIST, "").split(",") if part.strip()]
    if not sources:
        return [f"k8s: Ingress {name} serves admin with no {ALLOW_LIST} annotation"]
    problems = []
    networks: dict[int, list[Any]] = {4: [], 6: []}
    for source in sources:
        try:
            network = ipaddress.ip_network(source)
        except ValueError:
            problems.append(f"k8s: Ingress {name} allow-list entry {source!r} is not a CIDR")
            continue
        networks[network.version].append(network)
        if network.prefixlen < SHORTEST_PREFIX[network.version]:
            problems.append(
                f"k8s: Ingress {name} allow-list entry {source} is wider than "
                f"/{SHORTEST_PREFIX[network.version]}"
            )
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        covered = list(ipaddress.collapse_addresses(networks[version]))
        if covered == [ipaddress.ip_network(everything)]:
            problems.append(f"k8s: Ingress {name} allow-list lets everyone in ({everything})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("compose", "public", "fill-env", "k8s"))
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.kind == "fill-env":
        for path in args.files:
            path.write_text(fill_blanks(path.read_text()))
        return 0
    if args.kind in ("compose", "public"):
        if len(args.files) != 2:
            parser.error(f"{args.kind} needs two renders")
        first, second = (yaml.safe_load(path.read_text()) for path in args.files)
        problems = compose_problems(first, second)
        if args.kind == "public":
            problems += public_problems(first)
    else:
        problems = [
            p for path in args.files for p in k8s_problems(yaml.safe_load_all(path.read_text()))
        ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
