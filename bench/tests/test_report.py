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
            "machine_ms_per_order": {
                "services": 5 * cpu_ms,
                "postgresql": 6.0,
                "rabbitmq": 4.0,
                "other": 2.0,
                "machine": 5 * cpu_ms + 12,
            },
            "null_machine_ms_per_order": {
                "services": 4.0,
                "postgresql": 2.0,
                "rabbitmq": 2.0,
                "other": 2.0,
                "machine": 10.0,
            },
        },
        "scale": {"orders_in_db": 2000, "orders_per_s": 57.0, "ratio": 0.57},
        "rss_mb": dict.fromkeys(SERVICES, 100.0),
    }


def verdicts(text: str) -> dict[str, str]:
    lines = text.split("\n\n")[-1].splitlines()[2:-1]
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


def test_the_machine_table_puts_each_cpu_beside_the_null_pipeline_s_and_says_the_ceiling() -> None:
    text = report.table(results(cpu_ms=2.0, ipn_p99_ms=12.0))
    block = text.split("\n\n")[1].splitlines()
    rows = {line[:18].strip(): line.split()[-2:] for line in block[2:-1]}
    assert rows["PostgreSQL"] == ["6.00", "2.00"]
    assert rows["whole machine"] == ["22.0", "10.0"]
    # Both bound by CPU: the null pipeline's 10 ms per order against the pipeline's 22.
    assert block[-1].endswith("a CPU-bound ratio of at most 0.45")
