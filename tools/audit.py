"""Known vulnerabilities in the pinned dependencies (`make audit`, run by CI).

Runs pip-audit over requirements/dev.txt (every image's pins are a subset of it), asking
PyPI's vulnerability data, and fails when a pinned version has a known vulnerability
with a fixed version published: then `make lock` after raising the floor is the fix. A
vulnerability with no fix yet is printed but does not fail the build (nothing to do but
watch it).
"""

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements" / "dev.txt"


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerability: str
    fixed_in: tuple[str, ...]

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fix yet"
        return f"{self.package} {self.version}: {self.vulnerability} ({fix})"


class Vulnerability(BaseModel):
    id: str
    fix_versions: tuple[str, ...] = ()


class Dependency(BaseModel):
    """A pinned package; one pip-audit skipped (``skip_reason``) has no version."""

    name: str
    version: str = ""
    vulns: list[Vulnerability] = []


class Report(BaseModel):
    """pip-audit's JSON report (``-f json``): what the audit reads of it."""

    dependencies: list[Dependency] = []


def findings(report: Report) -> list[Finding]:
    """The vulnerabilities in a pip-audit JSON report."""
    return [
        Finding(dep.name, dep.version, vuln.id, vuln.fix_versions)
        for dep in report.dependencies
        for vuln in dep.vulns
    ]


def blocking(found: list[Finding]) -> list[Finding]:
    """Those with a fixed version to move to."""
    return [finding for finding in found if finding.fixed_in]


def audit() -> Report:
    # Our own packages are editable lines (`-e ./libs/…`): not on PyPI, nothing to audit.
    pins = "".join(line for line in PINS.read_text().splitlines(True) if not line.startswith("-e"))
    with tempfile.TemporaryDirectory() as scratch:
        requirements, output = Path(scratch) / "pins.txt", Path(scratch) / "audit.json"
        requirements.write_text(pins)
        command = [
            str(Path(sys.executable).parent / "pip-audit"),
            *("--no-deps", "--disable-pip", "--progress-spinner", "off"),
            *("--vulnerability-service", "pypi", "-f", "json", "-o", str(output)),
            *("-r", str(requirements)),
        ]
        result = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
        if not output.exists():
            raise SystemExit(f"pip-audit did not run: {result.stderr.strip()}")
        return Report.model_validate_json(output.read_text())


def main() -> int:
    report = audit()
    found = findings(report)
    print(f"audit: {len(report.dependencies)} pinned packages, {len(found)} known issues")
    for finding in found:
        print(f"  {'FAIL' if finding.fixed_in else 'warn'} {finding}")
    return 1 if blocking(found) else 0


if __name__ == "__main__":
    raise SystemExit(main())
