"""The audit fails the build only for a vulnerability that has a fixed version."""

from audit import Dependency, Report, blocking, findings

REPORT = Report.model_validate(
    {
        "dependencies": [
            {"name": "safe", "version": "1.0", "vulns": []},
            {
                "name": "leaky",
                "version": "2.0",
                "vulns": [
                    {"id": "PYSEC-1", "fix_versions": ["2.1"]},
                    {"id": "GHSA-2", "fix_versions": []},
                ],
            },
            {"name": "local", "skip_reason": "not on PyPI"},
        ]
    }
)


def test_every_vulnerability_is_reported_with_its_fix() -> None:
    assert [str(f) for f in findings(REPORT)] == [
        "leaky 2.0: PYSEC-1 (fixed in 2.1)",
        "leaky 2.0: GHSA-2 (no fix yet)",
    ]


def test_only_a_vulnerability_with_a_fix_blocks() -> None:
    assert [f.vulnerability for f in blocking(findings(REPORT))] == ["PYSEC-1"]
    assert blocking(findings(Report(dependencies=[Dependency(name="safe", version="1")]))) == []
