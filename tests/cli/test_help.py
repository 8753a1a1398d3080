"""``devgen --help`` and each command's help say what they do, defaults included."""

from __future__ import annotations

import pytest


def test_the_command_lists_its_commands(devgen):
    result = devgen("--help")

    assert result.exit_code == 0, result.output
    for command in ("up", "serve", "migrate", "keys", "user", "login", "whoami", "logout"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (["serve"], "(default: the service's own)"),
        (["migrate"], "(default: every service)"),
        (["login"], "(default: the last one used, else http://127.0.0.1:8000)"),
    ],
)
def test_option_defaults_are_shown_in_the_help(devgen, command, text):
    result = devgen(*command, "--help")

    assert result.exit_code == 0, result.output
    assert text in result.stdout


@pytest.mark.parametrize(
    ("command", "prompted"),
    [(["login"], ["--email", "--password"]), (["user", "create"], ["--password"])],
)
def test_options_that_are_asked_for_are_not_called_required(devgen, command, prompted):
    result = devgen(*command, "--help")

    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        if any(f" {option} " in line for option in prompted):
            assert "[required]" not in line, line
            assert "*" not in line.split("--")[0], line
