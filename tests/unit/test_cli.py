"""The `bcf` command line: options accept what the code accepts, errors are one line."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from bcf import cli
from demo_data import run


def test_generate_limits_match_what_the_generator_accepts() -> None:
    assert cli.GENERATE_MIN_DAYS == run.MIN_DAYS
    assert cli.GENERATE_MAX_DAYS == run.MAX_DAYS
    assert cli.GENERATE_MAX_TENANTS == run.MAX_TENANTS
    assert cli.GENERATE_MAX_BAD_RECORDS == run.MAX_BAD_RECORDS


def test_an_option_out_of_range_is_refused_before_anything_runs() -> None:
    runner = CliRunner()
    for command, option, value in (
        ("generate", "--days", "3"),
        ("generate", "--days", "3661"),
        ("generate", "--tenants", "5001"),
        ("generate", "--bad-records", "0.3"),
        ("demo", "--days", "3"),
        ("demo", "--tenants", "0"),
    ):
        result = runner.invoke(cli.app, [command, option, value], prog_name="bcf")
        assert result.exit_code == 2, (command, option, result.output)
        assert result.output.startswith(f"error: bcf {command}: Invalid value for '{option}'")
        assert result.output.count("\n") == 1, result.output


def test_a_mistyped_command_line_is_one_line_naming_where_to_look() -> None:
    runner = CliRunner()
    for arguments, expected in (
        (["nosuch"], "error: bcf: No such command 'nosuch' (see 'bcf --help')\n"),
        (
            ["db", "upgrade", "--bogus"],
            "error: bcf db upgrade: No such option: --bogus (see 'bcf db upgrade --help')\n",
        ),
        (
            ["generate", "--days", "many"],
            "error: bcf generate: Invalid value for '--days': Input should be a valid integer,"
            " unable to parse string as an integer (see 'bcf generate --help')\n",
        ),
    ):
        result = runner.invoke(cli.app, arguments, prog_name="bcf")
        assert result.exit_code == 2
        assert result.output == expected


def test_a_value_the_code_refuses_is_one_line() -> None:
    app = typer.Typer()

    @app.command()
    @cli.one_line_errors
    def refuse() -> None:
        raise ValueError("days must be between 7 and 3660")

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip() == "error: days must be between 7 and 3660"
