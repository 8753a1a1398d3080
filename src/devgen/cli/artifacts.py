"""``devgen artifacts``: download what a run produced."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from devgen.cli.generate import write_project
from devgen.cli.output import fail, out, run
from devgen.cli.runs import Server, connect

app = typer.Typer(help="Generated projects and their reports.", no_args_is_help=True)


@app.command()
def download(
    artifact_id: Annotated[str, typer.Argument(help="The artifact's id (see `devgen runs show`).")],
    server: Server = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Unpack into this directory [default: generated/<name>]."),
    ] = None,
    zip_file: Annotated[
        Path | None, typer.Option("--zip", help="Save the zip as it is instead of unpacking.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into a directory that is not empty.")] = False,
) -> None:
    """Download an artifact: the project with REPORT.md and report.json."""
    if out_dir is not None and zip_file is not None:
        fail("give --out or --zip, not both", code=2)

    async def work() -> tuple[dict[str, Any], bytes]:
        async with connect(server, quiet=True) as platform:
            manifest: dict[str, Any] = await platform.data(
                "GET", f"/api/v1/artifacts/{artifact_id}"
            )
            response = await platform.request("GET", f"/api/v1/artifacts/{artifact_id}/download")
            if response.status_code != 200:
                fail(f"the download failed (HTTP {response.status_code})")
            return manifest, response.content

    manifest, content = run(work())
    if zip_file is not None:
        zip_file.parent.mkdir(parents=True, exist_ok=True)
        zip_file.write_bytes(content)
        out.print(f"Saved {escape(str(zip_file))} ({len(content)} bytes)", highlight=False)
        return
    target = out_dir or Path("generated") / manifest["name"]
    written = write_project(content, target, force=force)
    out.print(f"Wrote {len(written)} files to [bold]{escape(str(target))}[/]", highlight=False)
