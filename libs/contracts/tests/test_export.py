import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bitloot_contracts.asyncapi import asyncapi_document
from bitloot_contracts.events import EVENT_TYPES, PaymentFinished
from bitloot_contracts.export import ASYNCAPI_FILE, check, export, main
from bitloot_contracts.schemas import event_schema, render, schema_filename
from bitloot_contracts.topics import PAYMENT_FINISHED

PACKAGE = Path(__file__).parents[1]
SCHEMAS = PACKAGE / "schemas"


class PaymentFinishedWithNote(PaymentFinished):
    note: str


def _files(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}


def test_export_writes_one_schema_per_event_and_the_asyncapi_document(tmp_path: Path) -> None:
    assert export(tmp_path / "out") == []
    files = _files(tmp_path / "out")
    expected = {schema_filename(model) for model in EVENT_TYPES.values()} | {ASYNCAPI_FILE}
    assert set(files) == expected
    for model in EVENT_TYPES.values():
        assert files[schema_filename(model)] == render(event_schema(model))
    assert files[ASYNCAPI_FILE] == render(asyncapi_document())


def test_export_is_deterministic(tmp_path: Path) -> None:
    export(tmp_path / "a")
    export(tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_check_passes_right_after_export(tmp_path: Path) -> None:
    export(tmp_path)
    assert check(tmp_path) == []


def test_committed_schemas_and_asyncapi_document_are_current() -> None:
    problems = check(SCHEMAS)
    assert not problems, "\n\n".join(problems)


def test_check_reports_a_missing_schema_and_a_stale_asyncapi_document(tmp_path: Path) -> None:
    export(tmp_path)
    (tmp_path / "order.fulfilled.v1.json").unlink()
    (tmp_path / ASYNCAPI_FILE).write_text("{}\n", encoding="utf-8")
    problems = check(tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith("order.fulfilled.v1.json is missing")
    assert problems[1] == f"{ASYNCAPI_FILE} is missing or out of date. Run `make schemas`."


def test_export_refuses_to_overwrite_a_schema_with_a_breaking_change(tmp_path: Path) -> None:
    export(tmp_path)
    before = _files(tmp_path)
    refusals = export(tmp_path, {PAYMENT_FINISHED: PaymentFinishedWithNote})
    assert len(refusals) == 1
    assert refusals[0].startswith("Refusing to overwrite payment.finished.v3.json")
    assert "- field 'note' added as required" in refusals[0]
    assert _files(tmp_path) == before


def test_export_repairs_a_committed_file_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "payment.finished.v3.json").write_text("{oops", encoding="utf-8")
    assert export(tmp_path) == []
    assert check(tmp_path) == []


def test_main_export_then_check_exit_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path)]) == 0
    assert main(["check", str(tmp_path)]) == 0
    assert f"Contracts up to date in {tmp_path}" in capsys.readouterr().out


def test_main_check_exits_non_zero_with_a_readable_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path)]) == 1
    report = capsys.readouterr().err
    assert "payment.finished.v3.json is missing" in report
    assert "asyncapi.json is missing or out of date" in report


def test_main_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "usage: bitloot-contracts" in capsys.readouterr().err


def test_console_script_is_declared() -> None:
    pyproject = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"bitloot-contracts": "bitloot_contracts.export:main"}


def test_python_dash_m_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bitloot_contracts", "check", str(SCHEMAS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
