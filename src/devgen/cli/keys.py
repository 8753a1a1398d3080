"""``devgen keys``: identity's token-signing keys."""

from __future__ import annotations

import typer

from devgen.cli.output import load_settings, out, run
from devgen.kit.settings import Settings
from devgen.runtime.standalone import started
from devgen.services.identity.keys import published_keys, rotate_signing_key

app = typer.Typer(help="Token-signing keys (identity).", no_args_is_help=True)


async def _rotate(settings: Settings) -> tuple[str, list[str]]:
    async with started("identity", settings) as identity:
        async with identity.state.database.transaction() as session:
            fresh = await rotate_signing_key(
                session,
                settings.auth.access_token_ttl_seconds,
                settings.auth.key_encryption_key,
            )
            published = [key.kid for key in await published_keys(session)]
        return fresh.kid, published


@app.command()
def rotate() -> None:
    """Start signing with a new key; older keys stay published until their tokens expire.

    Running identity processes pick the new key up within
    DEVGEN_SIGNING_KEY_RELOAD_SECONDS.
    """
    settings = load_settings()
    kid, published = run(_rotate(settings))
    out.print(f"New signing key [bold]{kid}[/]")
    out.print(f"Published keys ({len(published)}): {', '.join(published)}")
