"""Nothing is exposed by default: the checks `make deploy-check` runs on the rendered
compose file and the built overlays (tools/exposure.py) pass on the shipped files, and
each fails when the guarantee it guards is broken."""

import copy
import ipaddress
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from exposure import (
    active,
    compose_problems,
    fill_blanks,
    k8s_problems,
    public_problems,
    rabbitmq_problems,
)
from k8s_exposure import egress_ports, network_policies

from bitloot_demo.compose_env import PROD, compose_env, host_problem
from bitloot_launch.wiring import Secrets

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), as the Makefile picks; None if
    neither answers."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


PROFILE = ["--profile", "proxy", "config"]
PROXIED = ["payments", "kinguin-gateway", "fulfillment", "delivery"]


PUBLIC = ROOT / "deploy" / "compose" / "public.yml"
SHOP, KEYS = "shop.example.com", "keys.example.com"


def render(
    tmp_path: Path,
    name: str,
    *,
    public: bool = False,
    fill: bool = True,
    shop_host: str | None = None,
    keys_host: str | None = None,
) -> dict[str, Any]:
    """docker-compose.yml as compose reads it, with a fresh .env, proxy profile included;
    `public`: with deploy/compose/public.yml over it, the real providers' settings filled
    with test values (unless `fill` is false)."""
    command = compose_command()
    if command is None:
        pytest.skip("docker compose is not installed (tools/system_packages.sh ensure deploy)")
    env = tmp_path / f"{name}.env"
    text = compose_env(Secrets.generate(), shop_host=shop_host, keys_host=keys_host)
    env.write_text(fill_blanks(text) if fill else text)
    files = ["-f", str(ROOT / "docker-compose.yml"), *(["-f", str(PUBLIC)] if public else [])]
    rendered = subprocess.run(
        [*command, "--env-file", str(env), *files, *PROFILE],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: dict[str, Any] = yaml.safe_load(rendered.stdout)
    return loaded


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    directory = tmp_path_factory.mktemp("compose")
    return render(directory, "one"), render(directory, "two")


def test_the_shipped_compose_file_exposes_nothing_and_fixes_no_password(
    renders: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    assert compose_problems(*renders) == []


Mutation = Callable[[dict[str, Any]], None]


def _env(service: str, variable: str, value: str) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        config["services"][service]["environment"][variable] = value

    return mutate


def _ports(service: str, ports: list[Any]) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        config["services"][service]["ports"] = ports

    return mutate


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_ports("rabbitmq", ["5672:5672"]), "rabbitmq publishes port 5672 on 0.0.0.0"),
        (_ports("postgres", ["0.0.0.0:5432:5432/tcp"]), "postgres publishes port 5432 on 0.0.0.0"),
        (
            _ports("mailpit", [{"target": 8025, "published": 8025, "host_ip": "0.0.0.0"}]),  # noqa: S104
            "mailpit publishes port 8025 on 0.0.0.0",
        ),
        (_ports("admin", [{"target": 8000, "published": "8000"}]), "admin publishes port 8000"),
        (_ports("proxy", ["8080:8080"]), "proxy publishes port 8080 on 0.0.0.0"),
        (_env("postgres", "POSTGRES_PASSWORD", "bitloot"), "POSTGRES_PASSWORD is fixed"),
        (_env("rabbitmq", "RABBITMQ_DEFAULT_PASS", "guest"), "RABBITMQ_DEFAULT_PASS uses guest"),
        (
            _env("payments", "PAYMENTS_AMQP_URL", "amqp://guest:guest@rabbitmq:5672/"),
            "PAYMENTS_AMQP_URL connects as guest",
        ),
        (
            _env("admin", "ADMIN_DATABASE_URL", "postgresql://postgres:bitloot@postgres/admin"),
            "ADMIN_DATABASE_URL (URL password) is fixed",
        ),
    ],
)
def test_compose_check_fails_on_a_public_port_or_a_fixed_or_guest_password(
    renders: tuple[dict[str, Any], dict[str, Any]], mutate: Mutation, problem: str
) -> None:
    first, second = (copy.deepcopy(render) for render in renders)
    mutate(first)
    mutate(second)
    assert any(problem in found for found in compose_problems(first, second))


@pytest.fixture(scope="module")
def public_renders(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], dict[str, Any]]:
    directory = tmp_path_factory.mktemp("public")
    return (
        render(directory, "one", public=True, shop_host=SHOP, keys_host=KEYS),
        render(directory, "two", public=True, shop_host=SHOP, keys_host=KEYS),
    )


def test_the_public_override_runs_the_real_providers_and_no_sandbox(
    public_renders: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first, second = public_renders
    assert compose_problems(first, second) == []
    assert public_problems(first) == []
    services = active(first)
    assert not [name for name in services if "sandbox" in name]
    payments = services["payments"]["environment"]
    assert payments["PAYMENTS_NOWPAYMENTS_API_URL"] == "https://api.nowpayments.io"
    assert payments["PAYMENTS_NOWPAYMENTS_IPN_SECRET"].startswith("check-")
    assert payments["PAYMENTS_PUBLIC_URL"] == "https://shop.example.com"
    gateway = services["kinguin-gateway"]["environment"]
    assert gateway["KINGUIN_GATEWAY_KINGUIN_API_URL"] == "https://gateway.kinguin.net/esa/api"
    delivery = services["delivery"]["environment"]
    assert delivery["DELIVERY_SMTP_HOST"].endswith(".example")
    assert delivery["DELIVERY_S3_ENDPOINT_URL"].startswith("https://check-")
    assert str(delivery["DELIVERY_SMTP_STARTTLS"]) == "true"
    # The services do not wait for a sandbox that is not started.
    for name in ("payments", "kinguin-gateway"):
        assert not [s for s in services[name].get("depends_on", {}) if "sandbox" in s]


def test_the_public_override_will_not_start_with_a_provider_setting_left_empty(
    tmp_path: Path,
) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        render(tmp_path, "blank", public=True, fill=False, shop_host=SHOP, keys_host=KEYS)
    assert "BITLOOT_PROD_" in refused.value.stderr


def test_the_public_check_fails_on_the_sandboxes(tmp_path: Path) -> None:
    """The base file alone, even with public hosts, serves the sandboxes: the check says so."""
    problems = public_problems(render(tmp_path, "base", shop_host=SHOP, keys_host=KEYS))
    for problem in (
        "nowpayments-sandbox runs",
        "kinguin-sandbox runs",
        "PAYMENTS_NOWPAYMENTS_API_URL is 'http://nowpayments-sandbox:8000'",
        "KINGUIN_GATEWAY_KINGUIN_API_URL is 'http://kinguin-sandbox:8000'",
        "DELIVERY_S3_ENDPOINT_URL is 'http://minio:9000'",
        "DELIVERY_SMTP_HOST is 'mailpit'",
    ):
        assert any(problem in found for found in problems), (problem, problems)


def _unprofile(service: str) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        config["services"][service].pop("profiles")

    return mutate


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_unprofile("nowpayments-sandbox"), "nowpayments-sandbox runs"),
        (_env("delivery", "DELIVERY_SMTP_HOST", "127.0.0.1"), "DELIVERY_SMTP_HOST is '127.0.0.1'"),
        (
            _env("payments", "PAYMENTS_NOWPAYMENTS_API_URL", "http://jaeger:4318"),
            "PAYMENTS_NOWPAYMENTS_API_URL is 'http://jaeger:4318'",
        ),
        (
            _env("delivery", "DELIVERY_PUBLIC_URL", "http://keys.example.com"),
            "DELIVERY_PUBLIC_URL 'http://keys.example.com' is not https",
        ),
    ],
)
def test_the_public_check_fails_when_a_sandbox_or_local_stand_in_comes_back(
    public_renders: tuple[dict[str, Any], dict[str, Any]], mutate: Mutation, problem: str
) -> None:
    config = copy.deepcopy(public_renders[0])
    mutate(config)
    assert any(problem in found for found in public_problems(config)), public_problems(config)


def test_compose_env_leaves_the_real_providers_settings_for_the_operator() -> None:
    public = compose_env(Secrets.generate(), shop_host=SHOP, keys_host=KEYS)
    for name, default in PROD.items():
        assert f"\n{name}={default}\n" in public
    assert "BITLOOT_PROD_" not in compose_env(Secrets.generate())
    filled = fill_blanks(public)
    assert "BITLOOT_PROD_NOWPAYMENTS_API_KEY=check-" in filled
    assert "BITLOOT_PROD_NOWPAYMENTS_API_URL=https://api.nowpayments.io\n" in filled


@pytest.mark.parametrize(
    ("shop", "keys", "problem"),
    [
        ("https://shop.example.com", "keys.example.com", "is not a bare DNS name"),
        ("shop.example.com:8443", "keys.example.com", "is not a bare DNS name"),
        ("shop.example.com", "keys.example.com/x", "is not a bare DNS name"),
        ("shop.example.com", "SHOP.example.com", "must differ"),
    ],
)
def test_compose_env_refuses_hosts_it_cannot_serve(shop: str, keys: str, problem: str) -> None:
    assert problem in (host_problem(shop, keys) or "")
    assert host_problem("shop.example.com", "keys.example.com") is None


def test_compose_env_warns_that_the_proxy_alone_serves_the_sandboxes() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bitloot_demo.compose_env",
            *("--shop-host", "a.example.com"),
            *("--keys-host", "b.example.com"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "SANDBOXES" in run.stderr
    assert "deploy/compose/public.yml" in run.stderr
    assert "SANDBOXES" not in run.stdout
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "bitloot_demo.compose_env",
            *("--shop-host", "a.example.com"),
            *("--keys-host", "a.example.com"),
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert refused.stdout == ""


def test_every_service_behind_the_proxy_trusts_exactly_the_proxys_fixed_address(
    renders: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    services = renders[0]["services"]
    [address] = [network["ipv4_address"] for network in services["proxy"]["networks"].values()]
    prefixes = {"payments": "PAYMENTS", "kinguin-gateway": "KINGUIN_GATEWAY"}
    for name in PROXIED:
        prefix = prefixes.get(name, name.upper())
        assert services[name]["environment"][f"{prefix}_TRUSTED_PROXIES"] == address
    assert "ADMIN_TRUSTED_PROXIES" not in services["admin"]["environment"]
    # Docker hands out the rest of the edge network, never the proxy's address.
    [pool] = renders[0]["networks"]["edge"]["ipam"]["config"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(address) not in ipaddress.ip_network(pool["ip_range"])


def test_compose_env_points_the_customers_links_at_the_proxys_hosts() -> None:
    env = dict(
        line.split("=", 1)
        for line in compose_env(
            Secrets.generate(), shop_host="shop.example.com", keys_host="keys.example.com"
        ).splitlines()
        if not line.startswith("#")
    )
    assert env["BITLOOT_PAYMENTS_PUBLIC_URL"] == "https://shop.example.com"
    assert env["BITLOOT_LIVE_STATUS_URL"] == "wss://shop.example.com"
    assert env["BITLOOT_DELIVERY_PUBLIC_URL"] == "https://keys.example.com"
    assert env["BITLOOT_REFUND_CLAIM_URL"] == "https://shop.example.com/refunds/claim"
    assert env["BITLOOT_RABBITMQ_PASSWORD"] != env["BITLOOT_POSTGRES_PASSWORD"]


def test_the_broker_files_create_no_user_and_keep_guest_local(tmp_path: Path) -> None:
    assert rabbitmq_problems() == []
    source = ROOT / "deploy" / "rabbitmq"
    definitions = json.loads((source / "definitions.json").read_text())
    definitions["users"] = [{"name": "guest", "password_hash": "x", "tags": ["administrator"]}]
    (tmp_path / "definitions.json").write_text(json.dumps(definitions))
    (tmp_path / "rabbitmq.conf").write_text("loopback_users.guest = false\n")
    assert rabbitmq_problems(tmp_path) == [
        "rabbitmq: definitions.json creates users (the user comes from .env)",
        "rabbitmq: rabbitmq.conf lets guest connect from other hosts",
    ]
    (tmp_path / "rabbitmq.conf").write_text("load_definitions = /etc/rabbitmq/d.json\n")
    assert rabbitmq_problems(tmp_path)[-1] == (
        "rabbitmq: definitions loaded at boot stop the image creating its user"
    )


# --- kubernetes ----------------------------------------------------------------------


def base() -> list[dict[str, Any]]:
    """The base's documents (each overlay is checked the same way by tools/k8s.py)."""
    directory = ROOT / "deploy" / "k8s" / "base"
    return [
        doc
        for path in sorted(directory.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_the_shipped_manifests_expose_nothing_they_should_not() -> None:
    assert k8s_problems(base()) == []


def test_admin_has_its_own_host_and_ingress_with_an_allow_list() -> None:
    documents = base()
    public, admin = (
        find(documents, "Ingress", "bitloot"),
        find(documents, "Ingress", "bitloot-admin"),
    )
    public_paths = {p["path"] for r in public["spec"]["rules"] for p in r["http"]["paths"]}
    assert not any(path.startswith("/admin") for path in public_paths)
    [rule] = admin["spec"]["rules"]
    assert rule["host"] not in {r["host"] for r in public["spec"]["rules"]}
    assert admin["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"]


def _remove(kind: str, name: str) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(documents: list[dict[str, Any]]) -> None:
        documents.remove(find(documents, kind, name))

    return mutate


def _admin_on_shop(documents: list[dict[str, Any]]) -> None:
    public = find(documents, "Ingress", "bitloot")
    backend = {"service": {"name": "admin", "port": {"name": "http"}}}
    public["spec"]["rules"][0]["http"]["paths"].append(
        {"path": "/admin", "pathType": "Prefix", "backend": backend}
    )


def _allow_list(value: str | None) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(documents: list[dict[str, Any]]) -> None:
        annotations = find(documents, "Ingress", "bitloot-admin")["metadata"]["annotations"]
        if value is None:
            annotations.clear()
        else:
            annotations["nginx.ingress.kubernetes.io/whitelist-source-range"] = value

    return mutate


def _route(path: str) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(documents: list[dict[str, Any]]) -> None:
        backend = {"service": {"name": "payments", "port": {"name": "http"}}}
        rule = find(documents, "Ingress", "bitloot")["spec"]["rules"][0]
        rule["http"]["paths"].append({"path": path, "pathType": "Prefix", "backend": backend})

    return mutate


def _egress(service: str, rule: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(documents: list[dict[str, Any]]) -> None:
        find(documents, "NetworkPolicy", service)["spec"]["egress"].append(rule)

    return mutate


def _ingress_from(service: str, peer: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(documents: list[dict[str, Any]]) -> None:
        find(documents, "NetworkPolicy", service)["spec"]["ingress"][0]["from"].append(peer)

    return mutate


INTERNET = {
    "ipBlock": {
        "cidr": "0.0.0.0/0",
        "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
    }
}


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_admin_on_shop, "admin shares a host with the shop"),
        (_admin_on_shop, "serves admin beside"),
        (_allow_list(None), "serves admin with no nginx.ingress.kubernetes.io/whitelist"),
        (_allow_list("0.0.0.0/0"), "allow-list lets everyone in"),
        (_allow_list("office"), "is not a CIDR"),
        (_route("/internal"), "routes shop.bitloot.example/internal"),
        (_route("/metrics"), "routes shop.bitloot.example/metrics"),
        (_route("/"), "routes shop.bitloot.example/"),
        (_remove("NetworkPolicy", "default-deny"), "no default-deny NetworkPolicy"),
        (_remove("NetworkPolicy", "delivery"), "no NetworkPolicy selects delivery"),
        (_remove("NetworkPolicy", "rabbitmq-policy"), "no NetworkPolicy selects rabbitmq-policy"),
        (
            _egress("fulfillment", {"to": [INTERNET], "ports": [{"port": 443}]}),
            "fulfillment's egress reaches internet",
        ),
        (
            _egress("payments", {"to": [INTERNET], "ports": [{"port": 5432}]}),
            "payments's egress allows internet on ['5432/TCP']",
        ),
        (
            _egress(
                "payments",
                {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "delivery"}}}]},
            ),
            "payments's egress reaches pods:delivery",
        ),
        (
            _egress(
                "delivery",
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "bitloot-data"}
                            },
                            "podSelector": {
                                "matchLabels": {"app.kubernetes.io/name": "postgres-payments"}
                            },
                        }
                    ]
                },
            ),
            "delivery's egress reaches bitloot-data/postgres-payments",
        ),
        (_egress("admin", {"ports": [{"port": 443}]}), "admin's egress rule allows every peer"),
        (
            _ingress_from("payments", {"namespaceSelector": {}}),
            "payments's ingress reaches unknown",
        ),
        (
            _ingress_from(
                "admin", {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "payments"}}}
            ),
            "admin's ingress reaches pods:payments",
        ),
    ],
)
def test_k8s_check_fails_when_an_exposure_guarantee_is_broken(
    mutate: Callable[[list[dict[str, Any]]], None], problem: str
) -> None:
    documents = copy.deepcopy(base())
    mutate(documents)
    problems = k8s_problems(documents)
    assert any(problem in found for found in problems), problems


Documents = list[dict[str, Any]]


def _add(document: dict[str, Any]) -> Callable[[Documents], None]:
    def mutate(documents: Documents) -> None:
        documents.append(copy.deepcopy(document))

    return mutate


def _extra_policy(name: str, spec: dict[str, Any]) -> Callable[[Documents], None]:
    return _add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name},
            "spec": {"policyTypes": ["Ingress", "Egress"], **spec},
        }
    )


NAME = "app.kubernetes.io/name"
PART_OF = {"matchLabels": {"app.kubernetes.io/part-of": "bitloot"}}
POSTGRES = {"matchLabels": {NAME: "postgres"}}


def _rule(service: str, direction: str, index: int, **changes: Any) -> Callable[[Documents], None]:
    """Changes one rule of a service's policy (ports=None drops its ports)."""

    def mutate(documents: Documents) -> None:
        rule = find(documents, "NetworkPolicy", service)["spec"][direction][index]
        for key, value in changes.items():
            if value is None:
                rule.pop(key, None)
            else:
                rule[key] = value

    return mutate


def _config(service: str, variable: str, value: str) -> Callable[[Documents], None]:
    def mutate(documents: Documents) -> None:
        find(documents, "ConfigMap", f"{service}-config")["data"][variable] = value

    return mutate


def _both(*mutations: Callable[[Documents], None]) -> Callable[[Documents], None]:
    def mutate(documents: Documents) -> None:
        for mutation in mutations:
            mutation(documents)

    return mutate


def _path(service: str, path: str, path_type: str = "Prefix") -> Callable[[Documents], None]:
    def mutate(documents: Documents) -> None:
        backend = {"service": {"name": service, "port": {"name": "http"}}}
        rule = find(documents, "Ingress", "bitloot")["spec"]["rules"][0]
        rule["http"]["paths"].append({"path": path, "pathType": path_type, "backend": backend})

    return mutate


def _workload(kind: str, name: str) -> Callable[[Documents], None]:
    template = {"metadata": {"labels": {NAME: name}}, "spec": {"containers": []}}
    spec: dict[str, Any] = {"template": template}
    if kind == "CronJob":
        spec = {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}
    return _add({"kind": kind, "metadata": {"name": name}, "spec": spec})


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


OPEN = "neither all pods with no rule (default deny) nor one known workload"


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        # Every policy is checked, not only those selecting a workload by name.
        (_extra_policy("open", {"podSelector": {}, "ingress": [{}]}), f"open selects {{}}, {OPEN}"),
        (_extra_policy("out", {"podSelector": {}, "egress": [{}]}), f"out selects {{}}, {OPEN}"),
        (_extra_policy("bitloot", {"podSelector": PART_OF, "ingress": [{}]}), OPEN),
        (_extra_policy("db", {"podSelector": POSTGRES, "egress": [{}]}), OPEN),
        (
            _extra_policy(
                "two-labels",
                {"podSelector": {"matchLabels": {NAME: "payments", "tier": "x"}}, "egress": [{}]},
            ),
            OPEN,
        ),
        (
            _extra_policy(
                "expression",
                {
                    "podSelector": {
                        "matchLabels": {NAME: "payments"},
                        "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}],
                    }
                },
            ),
            OPEN,
        ),
        # Each peer only on its own ports.
        (_rule("payments", "ingress", 0, ports=None), "ingress allows every port of"),
        (_rule("payments", "ingress", 0, ports=_tcp(22)), "allows monitoring/prometheus on"),
        (_rule("payments", "egress", 0, ports=None), "allows every port of kube-system/kube-dns"),
        (_rule("payments", "egress", 0, ports=_tcp(53, 22)), "kube-system/kube-dns on ['22/TCP']"),
        (_rule("delivery", "egress", 1, ports=None), "every port of bitloot-data/postgres-del"),
        (_rule("delivery", "egress", 1, ports=_tcp(5432, 6432)), "postgres-delivery on ['6432/"),
        (_rule("payments", "egress", 2, ports=_tcp(5672, 15672)), "rabbitmq on ['15672/TCP']"),
        (_rule("rabbitmq-policy", "egress", 1, ports=_tcp(5672)), "rabbitmq on ['5672/TCP']"),
        (
            _rule("admin", "egress", 3, ports=[{"protocol": "TCP", "port": 8000, "endPort": 9000}]),
            "admin's egress allows every port of pods:payments",
        ),
        # The ports called out on come from the ConfigMaps.
        (
            _config("delivery", "DELIVERY_SMTP_PORT", "465"),
            "delivery calls out on port 465 (its configuration) but no egress rule allows it",
        ),
        (_config("delivery", "DELIVERY_SMTP_PORT", "465"), "internet on ['587/TCP']"),
        (
            _config("payments", "PAYMENTS_NOWPAYMENTS_API_URL", "https://np.example:8443"),
            "payments calls out on port 8443",
        ),
        (
            _config("kinguin-gateway", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            "kinguin-gateway calls out on port 4318",
        ),
        # The admin allow-list: nothing wider than /8 (/32), and no set covering everything.
        (_allow_list("10.0.0.0/7"), "entry 10.0.0.0/7 is wider than /8"),
        (_allow_list("192.0.2.0/24,2001:db8::/31"), "entry 2001:db8::/31 is wider than /32"),
        (
            _allow_list(",".join(f"{n}.0.0.0/8" for n in range(256))),
            "allow-list lets everyone in (0.0.0.0/0)",
        ),
        # Ingress paths: only the public routes, by Prefix or Exact.
        (_path("payments", "/payments"), "routes shop.bitloot.example/payments to payments, not"),
        (_path("payments", "/keys"), "/keys to payments, not a public route"),
        (_path("payments", "/orders", "ImplementationSpecific"), "pathType ImplementationSpecific"),
        # Every kind of workload needs its allowed peers and a policy.
        (_workload("StatefulSet", "redis"), "StatefulSet redis (redis) has no allowed peers"),
        (_workload("DaemonSet", "agent"), "DaemonSet agent (agent) has no allowed peers"),
        (_workload("CronJob", "backup"), "CronJob backup (backup) has no allowed peers"),
        (
            _both(
                _remove("Job", "rabbitmq-policy"),
                _remove("NetworkPolicy", "rabbitmq-policy"),
                _workload("CronJob", "rabbitmq-policy"),
            ),
            "no NetworkPolicy selects rabbitmq-policy",
        ),
    ],
)
def test_k8s_check_checks_every_policy_every_port_and_the_configured_egress(
    mutate: Callable[[Documents], None], problem: str
) -> None:
    documents = copy.deepcopy(base())
    mutate(documents)
    problems = k8s_problems(documents)
    assert any(problem in found for found in problems), problems


def test_the_egress_ports_come_from_the_configuration() -> None:
    config = {
        "DELIVERY_SMTP_PORT": "2525",
        "DELIVERY_S3_ENDPOINT_URL": "https://store.example:9443",
        "DELIVERY_PUBLIC_URL": "https://keys.example:8443",  # a link, not a call
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example",
    }
    assert egress_ports(config) == {2525, 9443, 80}
    [_, policy] = network_policies({"delivery": config}, [])
    spec: Any = policy["spec"]  # read as the YAML documents are
    [internet] = [rule for rule in spec["egress"] if "ipBlock" in rule["to"][0]]
    assert {port["port"] for port in internet["ports"]} == {80, 2525, 9443}


def test_an_overlay_that_moves_smtp_and_its_egress_together_passes() -> None:
    """The allowed ports follow the ConfigMap: 465 with its rule is fine, no fixed 587."""
    documents = copy.deepcopy(base())
    _config("delivery", "DELIVERY_SMTP_PORT", "465")(documents)
    egress = find(documents, "NetworkPolicy", "delivery")["spec"]["egress"]
    [internet] = [rule for rule in egress if "ipBlock" in rule["to"][0]]
    internet["ports"] = _tcp(443, 465)
    assert k8s_problems(documents) == []
