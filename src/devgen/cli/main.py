"""The ``devgen`` command: wiring only; each command group lives in its own module."""

from __future__ import annotations

import typer

from devgen.cli import artifacts, database, events, generate, keys, runs, server, session, users

app = typer.Typer(
    name="devgen",
    help="devgen: a self-hosted AI software generator.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals would print passwords and tokens
    add_completion=False,
)

app.command(rich_help_panel="Run")(server.up)
app.command(rich_help_panel="Run")(server.serve)
app.command(rich_help_panel="Operate")(database.migrate)
app.command(rich_help_panel="Operate")(database.makemigration)
app.add_typer(keys.app, name="keys", rich_help_panel="Operate")
app.add_typer(users.app, name="user", rich_help_panel="Operate")
app.add_typer(events.app, name="events", rich_help_panel="Operate")
app.command(rich_help_panel="Client")(session.login)
app.command(rich_help_panel="Client")(session.whoami)
app.command(rich_help_panel="Client")(session.logout)
app.command(rich_help_panel="Main job")(generate.generate)
app.add_typer(runs.app, name="runs", rich_help_panel="Main job")
app.add_typer(artifacts.app, name="artifacts", rich_help_panel="Main job")
