"""``python -m devgen.cli``: the same as the ``devgen`` command."""

from devgen.cli.main import app

app(prog_name="devgen")
