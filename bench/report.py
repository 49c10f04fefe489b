"""The tables `make bench` prints: what each service spent per order (bench.hops), and each
figure beside its target (issue #20), PASS or FAIL. Targets are reported, never asserted."""

from typing import Any

from bench import hops

RSS_LIMIT_MB = 120
CPU_LIMIT_MS = 15.0


def _targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    ingress, pipeline, scale = results["ingress"], results["pipeline"], results["scale"]
    to_key = pipeline["time_to_key_ms"]
    # Each rate over the null pipeline's measured beside it: the machine's load moves both.
    empty_ratio = pipeline["ratio"]
    scale_change = (scale["ratio"] - empty_ratio) / empty_ratio if empty_ratio else -1.0
    ingress_rates = f"{ingress['ipn_max_rps']:.0f} / {ingress['baseline_max_rps']:.0f} req/s"
    pipeline_rates = (
        f"{pipeline['orders_per_s']:.1f} / {pipeline['null_orders_per_s']:.1f} orders/s"
    )
    cpu = sum(pipeline["cpu_ms_per_order"].values())
    rows = [
        ("ingress ratio (IPN max / baseline max)", f"{ingress['ratio']:.2f} ({ingress_rates})",
         ">= 0.8", ingress["ratio"] >= 0.8),
        (f"IPN p99 at {ingress['offered_rps']:g}/s",
         f"{ingress['p99_ms']:.1f} ms (p50 {ingress['p50_ms']:.1f})", "< 20 ms",
         ingress["p99_ms"] < 20),
        (f"IPN processor lag at {ingress['offered_rps']:g}/s",
         f"{ingress['processor_lag_at_rate_s']:.1f} s (after the max: "
         f"{ingress['processor_lag_s']:.1f} s)", "< 1 s", ingress["processor_lag_at_rate_s"] < 1),
        ("pipeline ratio (pipeline / null)", f"{pipeline['ratio']:.2f} ({pipeline_rates})",
         ">= 0.5", pipeline["ratio"] >= 0.5),
        ("service CPU per order, all services",
         f"{cpu:.1f} ms (null pipeline {pipeline['null_cpu_ms_per_order']:.1f})",
         f"<= {CPU_LIMIT_MS:g} ms", cpu <= CPU_LIMIT_MS),
        (f"time-to-key p99 at {pipeline['offered_orders_per_s']:g} orders/s (half max)",
         f"{to_key['p99']:.0f} ms (p50 {to_key['p50']:.0f})", "< 150 ms", to_key["p99"] < 150),
        (f"pipeline with {scale['orders_in_db']} orders in the databases",
         f"{scale['orders_per_s']:.1f} orders/s, ratio {scale['ratio']:.3f} ({scale_change:+.0%})",
         "within 10%", abs(scale_change) <= 0.10),
    ]  # fmt: skip
    rows += [
        (f"peak RSS {service}", f"{mb:.0f} MB", f"< {RSS_LIMIT_MB} MB", mb < RSS_LIMIT_MB)
        for service, mb in results["rss_mb"].items()
    ]
    return rows


def targets_table(results: dict[str, Any]) -> str:
    rows = _targets(results)
    first = max(len(name) for name, *_ in rows)
    second = max(len(value) for _, value, *_ in rows)
    lines = [f"{'measure':<{first}}  {'measured':<{second}}  {'target':<12}  result"]
    lines.append("-" * len(lines[0]))
    for name, value, target, met in rows:
        verdict = "PASS" if met else "FAIL"
        lines.append(f"{name:<{first}}  {value:<{second}}  {target:<12}  {verdict}")
    failed = sum(1 for *_, met in rows if not met)
    lines.append(f"{len(rows) - failed} of {len(rows)} targets met")
    return "\n".join(lines)


def ceiling(pipeline: dict[str, Any]) -> str:
    """The pipeline ratio the machine's CPU allows: with both runs bound by CPU, the null
    pipeline's machine CPU per order over the pipeline's."""
    real = pipeline["machine_ms_per_order"]["machine"]
    null = pipeline["null_machine_ms_per_order"]["machine"]
    return (
        f"machine CPU per order {real:.1f} ms against the null pipeline's {null:.1f} ms:"
        f" a CPU-bound ratio of at most {null / real:.2f}"
    )


def table(results: dict[str, Any]) -> str:
    """The tables: the per-service figures of the pipeline's maximum, where the machine's
    CPU went, then the targets."""
    pipeline = results["pipeline"]
    per_service = hops.table(pipeline["per_service"], pipeline["orders"])
    used = hops.machine_table(
        pipeline["machine_ms_per_order"], pipeline["null_machine_ms_per_order"]
    )
    return f"{per_service}\n\n{used}\n{ceiling(pipeline)}\n\n{targets_table(results)}"
