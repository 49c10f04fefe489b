"""The tables `make bench` prints: each target PASS or FAIL, and the per-service figures with
their sum."""

from typing import Any

from bench import hops, report

SERVICES = ("payments", "kinguin-gateway", "fulfillment", "delivery", "admin")


def results(cpu_ms: float, ipn_p99_ms: float) -> dict[str, Any]:
    row = {"consumed": 2.0, "published": 1.0, "transactions": 3.0, "statements": 9.0,
           "tuples_returned": 120.0, "tuples_fetched": 40.0, "cpu_ms": cpu_ms}  # fmt: skip
    return {
        "ingress": {
            "ipn_max_rps": 900.0,
            "baseline_max_rps": 1000.0,
            "ratio": 0.9,
            "p50_ms": 3.0,
            "p99_ms": ipn_p99_ms,
            "offered_rps": 200.0,
            "processor_lag_at_rate_s": 0.0,
            "processor_lag_s": 2.0,
        },
        "pipeline": {
            "orders": 300,
            "orders_per_s": 60.0,
            "null_orders_per_s": 100.0,
            "ratio": 0.6,
            "time_to_key_ms": {"p50": 40.0, "p99": 90.0},
            "offered_orders_per_s": 30.0,
            "null_cpu_ms_per_order": 4.0,
            "cpu_ms_per_order": dict.fromkeys(SERVICES, cpu_ms),
            "per_service": {name: dict(row) for name in SERVICES},
        },
        "scale": {"orders_in_db": 2000, "orders_per_s": 57.0, "ratio": 0.57},
        "rss_mb": dict.fromkeys(SERVICES, 100.0),
    }


def verdicts(text: str) -> dict[str, str]:
    lines = text.split("\n\n")[1].splitlines()[2:-1]
    return {line.split("  ")[0]: line.split()[-1] for line in lines}


def test_every_target_passes_when_met() -> None:
    text = report.table(results(cpu_ms=2.0, ipn_p99_ms=12.0))
    assert set(verdicts(text).values()) == {"PASS"}
    assert text.endswith("12 of 12 targets met")


def test_a_missed_target_fails_its_line_only() -> None:
    found = verdicts(report.table(results(cpu_ms=4.0, ipn_p99_ms=25.0)))
    failed = {name for name, verdict in found.items() if verdict == "FAIL"}
    assert failed == {"service CPU per order, all services", "IPN p99 at 200/s"}


def test_the_per_service_table_adds_up_the_services() -> None:
    text = hops.table(results(cpu_ms=2.5, ipn_p99_ms=12.0)["pipeline"]["per_service"], 300)
    total = next(line for line in text.splitlines() if line.startswith("all services"))
    assert total.split()[2:] == ["10.0", "5.00", "15.0", "45.0", "600", "200", "12.5"]
