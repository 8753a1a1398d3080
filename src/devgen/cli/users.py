"""``devgen user``: accounts, created directly in identity's database (the first admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from devgen.cli.output import fail, load_settings, out, run
from devgen.kit.errors import DevgenError
from devgen.kit.settings import Settings
from devgen.runtime.standalone import started
from devgen.services.identity.schemas import RegisterRequest
from devgen.services.identity.service import create_user

app = typer.Typer(help="User accounts (identity).", no_args_is_help=True)


async def _create(settings: Settings, account: RegisterRequest, admin: bool) -> tuple[str, str]:
    async with started("identity", settings) as identity:
        state = identity.state.identity
        async with state.database.transaction() as session:
            user, tenant = await create_user(
                session,
                state,
                email=str(account.email),
                password=account.password,
                display_name=account.display_name,
                platform_admin=admin,
            )
            return str(user.id), str(tenant.id)


@app.command()
def create(
    email: Annotated[str, typer.Option(help="The account's e-mail address.")],
    # Optional to click, so the help does not call it required: it is asked for.
    password: Annotated[
        str | None,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when not given (8 to 1024 characters).",
        ),
    ] = None,
    admin: Annotated[bool, typer.Option(help="Make the account a platform administrator.")] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
) -> None:
    """Create an account with its personal workspace, e.g. the first administrator."""
    settings = load_settings()
    try:
        account = RegisterRequest(email=email, password=password, display_name=display_name)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(problems, code=2)
    try:
        user_id, tenant_id = run(_create(settings, account, admin))
    except DevgenError as exc:
        fail(exc.message)
    role = "platform administrator" if admin else "user"
    out.print(f"Created {role} [bold]{account.email}[/] (id {user_id}, workspace {tenant_id})")
