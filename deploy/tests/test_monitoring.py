"""The shipped monitoring agrees with itself and with the services: every alert the issue
asks for exists and links to a runbook heading of docs/operations.md, every metric a rule
or a dashboard reads is one the services export, the dashboards name the provisioned
datasource, the cluster's PrometheusRule is the rules file, and compose runs Prometheus
and Grafana on this host only, scraping the five services."""

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from settings_reference import SERVICES

from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_demo.compose_env import compose_env
from bitloot_fulfillment.metrics import FulfillmentMetrics
from bitloot_kinguin_gateway.domain.balance import BalanceStatus
from bitloot_kinguin_gateway.metrics import BalanceGauges, GatewayMetrics
from bitloot_launch.wiring import Secrets
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_runtime.metrics import RuntimeMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "bitloot.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
MONITORING = ROOT / "deploy" / "k8s" / "monitoring"
OPERATIONS = ROOT / "docs" / "operations.md"
NAMES = [service for service, _ in SERVICES]


def exported() -> set[str]:
    """The series names the five services export, read off their own metric classes
    (a counter as ``<name>_total``, a histogram as its bucket, count and sum), plus
    Prometheus' own ``up``: a renamed metric fails the rules and dashboards that read it."""
    runtime = RuntimeMetrics("any")
    for metrics in (PaymentsMetrics, FulfillmentMetrics, GatewayMetrics, DeliveryMetrics):
        metrics(runtime.source)
    # Exposed only once the balance has been read: its description names them all.
    balance = BalanceGauges(lambda: BalanceStatus(threshold=Decimal(0)))
    names = {"up"}
    for family in [*runtime.registry.collect(), *balance.describe()]:
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        else:
            names.add(family.name)
    return names


# Issue #22, point 4: the alerts an on-call engineer is paged or warned by.
REQUIRED_ALERTS = {
    "BitlootPaidOrdersNotFulfilled",  # paid orders not fulfilled within N minutes
    "BitlootMessageParked",  # any parked message
    "BitlootOutboxLagging",
    "BitlootIpnSignaturesRefused",  # refused IPN signatures spike
    "BitlootKinguinWebhooksUnauthenticated",
    "BitlootKinguinBalanceLow",
    "BitlootEmailsNotAccepted",  # email not accepted by the mail server
    "BitlootEmailsUnconfirmed",  # email unconfirmed
    "BitlootRevealRateLimitStorm",
    "BitlootTimeToKeyP99AboveTarget",
}
METRIC = re.compile(r"\b(?:bitloot_[a-z0-9_]+|process_[a-z0-9_]+|up)\b(?!\s*\()")


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def dashboard_expressions_of(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel["targets"]]


def dashboard_expressions() -> list[str]:
    return [
        expression
        for dashboard in dashboards().values()
        for expression in dashboard_expressions_of(dashboard)
    ]


def metrics_in(expression: str) -> set[str]:
    # Label values and matchers ("…") are not metric names; the label names inside
    # {…} or by (…) do not start with bitloot_/process_.
    return set(METRIC.findall(re.sub(r'"[^"]*"', '""', expression)))


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def provisioned_uid() -> str:
    [datasource] = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uid: str = datasource["uid"]
    return uid


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_alert_the_issue_asks_for_exists_once() -> None:
    names = [rule["alert"] for rule in alerts()]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS, sorted(REQUIRED_ALERTS - set(names))


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_links_to_its_runbook_heading(rule: dict[str, Any]) -> None:
    url = rule["annotations"]["runbook_url"]
    path, _, anchor = url.partition("#")
    assert path == "docs/operations.md"
    assert anchor == rule["alert"].lower()
    assert anchor in anchors(OPERATIONS.read_text()), f"no heading for #{anchor}"
    assert rule["labels"]["severity"] in {"page", "warning"}
    assert rule["annotations"]["summary"]


def test_rules_and_dashboards_read_only_metrics_the_services_export() -> None:
    used = {
        name: where
        for where, expression in [
            *((rule["alert"], rule["expr"]) for rule in alerts()),
            *(("dashboard", expression) for expression in dashboard_expressions()),
        ]
        for name in metrics_in(expression)
    }
    known = exported()
    unknown = {name: where for name, where in used.items() if name not in known}
    assert not unknown
    # The extraction itself finds what it should (a histogram's bucket, a counter).
    assert "bitloot_time_to_key_seconds_bucket" in used
    assert "bitloot_ipn_refused_total" in used


def test_the_refusals_alerts_count_are_exported_at_zero_from_the_start() -> None:
    """increase() cannot see the first refusal of a series born at 1 (a restarted
    instance), so the refusals the edge alerts read exist, at 0, before any happens."""
    runtime = RuntimeMetrics("any")
    for metrics in (PaymentsMetrics, GatewayMetrics, DeliveryMetrics):
        metrics(runtime.source)
    text = runtime.render()[0].decode()
    for series in (
        'bitloot_ipn_refused_total{reason="bad_signature",service="any"} 0.0',
        'bitloot_ipn_refused_total{reason="missing_signature",service="any"} 0.0',
        'bitloot_kinguin_webhooks_total{event="order.status",outcome="unauthenticated",'
        'service="any"} 0.0',
        'bitloot_fresh_links_total{outcome="rate_limited",service="any"} 0.0',
        'bitloot_emails_total{kind="delivery",outcome="unconfirmed",service="any"} 0.0',
    ):
        assert series in text.splitlines()


def test_metric_extraction_sees_an_unknown_name() -> None:
    expression = 'sum(rate(bitloot_orders_shipped_total{state="bitloot_x"}[5m])) by (le)'
    assert metrics_in(expression) == {"bitloot_orders_shipped_total"}


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_dashboards_are_grafana_dashboards_on_the_provisioned_datasource(name: str) -> None:
    dashboard = dashboards()[name]
    uid = provisioned_uid()
    assert dashboard["uid"]
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert panels(dashboard)
    for panel in panels(dashboard):
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}
        assert panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        assert grid["h"] > 0
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            assert target["expr"].strip()
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"]["uid"] == uid
    # A variable the panels use is defined, and each one defined is used.
    used = set(re.findall(r"\$(\w+)", " ".join(dashboard_expressions_of(dashboard))))
    defined = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert used - {"__rate_interval", "__range", "__interval"} <= defined
    assert defined <= used


def test_dashboard_uids_are_distinct() -> None:
    uids = [dashboard["uid"] for dashboard in dashboards().values()]
    assert len(uids) == len(set(uids)) == 2


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: make deploy-check")
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query, as a recording rule, with Grafana's variables filled in."""
    rules = [
        {
            "record": f"dashboard:query_{number}",
            "expr": expression.replace("$__rate_interval", "5m")
            .replace("$__range", "1h")
            .replace("$service", "payments"),
        }
        for number, expression in enumerate(dashboard_expressions())
    ]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(path)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_cluster_prometheusrule_is_the_rules_file() -> None:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {"prometheusrule.yaml", "servicemonitor.yaml"}
    production = ROOT / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml"
    assert "../../monitoring" in yaml.safe_load(production.read_text())["resources"]


def test_the_servicemonitor_scrapes_every_service_on_its_http_port() -> None:
    monitor = yaml.safe_load((MONITORING / "servicemonitor.yaml").read_text())
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    selected = []
    for service in NAMES:
        path = ROOT / "deploy" / "k8s" / "base" / f"{service}.yaml"
        documents = {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text())}
        labels = documents["Service"]["metadata"]["labels"]
        if selector.items() <= labels.items():
            selected.append(service)
            ports = {port["name"] for port in documents["Service"]["spec"]["ports"]}
            assert endpoint["port"] in ports
    assert selected == NAMES


def test_compose_prometheus_scrapes_the_five_services_and_loads_the_rules() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {f"{service}:8000" for service in NAMES}
    assert config["rule_files"] == ["rules/*.yml"]
    prometheus = compose()["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_compose_monitoring_listens_on_this_host_only_with_pinned_images(name: str) -> None:
    service = compose()["services"][name]
    image, _, tag = service["image"].partition(":")
    assert tag
    assert tag != "latest"
    assert image
    assert service["ports"]
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_compose_grafana_has_no_anonymous_access_and_its_password_from_env() -> None:
    grafana = compose()["services"]["grafana"]
    environment = grafana["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith(
        "${BITLOOT_GRAFANA_ADMIN_PASSWORD:?"
    )
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    home = environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).name in dashboards()


def test_make_compose_env_writes_every_variable_compose_reads() -> None:
    written = {
        line.split("=", 1)[0]
        for line in compose_env(Secrets.generate()).splitlines()
        if line and not line.startswith("#")
    }
    read = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    assert "BITLOOT_GRAFANA_ADMIN_PASSWORD" in read
    assert read <= written, sorted(read - written)
