"""The table `make bench` prints: each figure beside its target (ARCHITECTURE.md §3.7 and
issue #10). Targets are reported, never asserted."""

from typing import Any

RSS_LIMIT_MB = 150


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
    rows = [
        ("ingress ratio (IPN max / baseline max)", f"{ingress['ratio']:.2f} ({ingress_rates})",
         ">= 0.6", ingress["ratio"] >= 0.6),
        (f"IPN p99 at {ingress['offered_rps']:g}/s",
         f"{ingress['p99_ms']:.1f} ms (p50 {ingress['p50_ms']:.1f})", "< 50 ms",
         ingress["p99_ms"] < 50),
        ("pipeline ratio (pipeline / null)", f"{pipeline['ratio']:.2f} ({pipeline_rates})",
         ">= 0.5", pipeline["ratio"] >= 0.5),
        (f"time-to-key p99 at {pipeline['offered_orders_per_s']:g} orders/s",
         f"{to_key['p99']:.0f} ms (p50 {to_key['p50']:.0f})", "< 300 ms", to_key["p99"] < 300),
        (f"pipeline with {scale['orders_in_db']} orders in the databases",
         f"{scale['orders_per_s']:.1f} orders/s, ratio {scale['ratio']:.3f} ({scale_change:+.0%})",
         "within 10%",
         abs(scale_change) <= 0.10),
    ]  # fmt: skip
    rows += [
        (f"peak RSS {service}", f"{mb:.0f} MB", f"< {RSS_LIMIT_MB} MB", mb < RSS_LIMIT_MB)
        for service, mb in results["rss_mb"].items()
    ]
    return rows


def table(results: dict[str, Any]) -> str:
    rows = _targets(results)
    first = max(len(name) for name, *_ in rows)
    second = max(len(value) for _, value, *_ in rows)
    lines = [f"{'measure':<{first}}  {'measured':<{second}}  {'target':<12}  met"]
    lines.append("-" * len(lines[0]))
    for name, value, target, met in rows:
        lines.append(f"{name:<{first}}  {value:<{second}}  {target:<12}  {'yes' if met else 'NO'}")
    return "\n".join(lines)
