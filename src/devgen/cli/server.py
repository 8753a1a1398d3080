"""``devgen up`` and ``devgen serve``: run the platform, all-in-one or one service at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from devgen.cli.output import fail, load_settings, out
from devgen.kit.settings import Settings
from devgen.kit.telemetry import configure_tracing
from devgen.kit.tls import server_options
from devgen.runtime.allinone import build_platform
from devgen.runtime.failures import StartupFailed
from devgen.runtime.registry import SERVICE_NAMES, available_services, load_definition
from devgen.runtime.server import configure_server_logging, run_server
from devgen.runtime.standalone import build_service

Host = Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")]


def _base_url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def _storage(settings: Settings) -> str:
    url = settings.database.database_url
    if url.startswith("sqlite"):
        return f"SQLite files under {settings.core.data_dir.resolve()}"
    return "PostgreSQL" if url.startswith("postgresql") else url.split(":", 1)[0]


def up(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
) -> None:
    """Start the whole platform in this process: the gateway in front, every service behind it.

    Every service's database is migrated first. Stop with Ctrl-C.
    """
    settings = load_settings()
    configure_server_logging(settings.core)
    configure_tracing("devgen", settings.core.otel_exporter)
    try:
        app = build_platform(settings)
    except ValueError as exc:
        fail(str(exc), code=2)
    services = ", ".join(available_services())

    def announce(bound: list[tuple[str, int]]) -> None:
        for bound_host, bound_port in bound:
            base = _base_url(bound_host, bound_port, "https" if settings.tls.serves_tls else "http")
            out.print(f"[bold green]devgen is up[/] (all-in-one) at [link={base}/]{base}/[/]")
            out.print(f"  web console  {base}/")
            out.print(f"  API          {base}/api/v1/…")
            out.print(f"  API docs     {base}/services/<service>/docs")
            out.print(f"  health       {base}/health")
        out.print(f"  services     {services}")
        out.print(f"  data         {_storage(settings)}")
        out.file.flush()

    try:
        run_server(app, host=host, port=port, announce=announce, tls=server_options(settings.tls))
    except StartupFailed as exc:
        fail(f"devgen could not start: {exc}")


def serve(
    service: Annotated[
        str,
        typer.Argument(help=f"One of: gateway, {', '.join(SERVICE_NAMES)}.", show_default=False),
    ],
    host: Host = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(help="Port to listen on (default: the service's own).", min=0, max=65535),
    ] = None,
) -> None:
    """Run one service alone; it reaches the others at their DEVGEN_<SERVICE>_URL."""
    settings = load_settings()
    try:
        definition = load_definition(service)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    configure_server_logging(settings.core)
    configure_tracing(service, settings.core.otel_exporter)
    try:
        app = build_service(service, settings)
    except ValueError as exc:  # no service secret: a setting to give, not a crash
        fail(str(exc), code=2)
    # The gateway resolves client addresses itself; behind it, uvicorn applies
    # X-Forwarded-For from the trusted proxies (the gateway among them).
    forwarded_allow = () if service == "gateway" else settings.http.trusted_proxies

    def announce(bound: list[tuple[str, int]]) -> None:
        for bound_host, bound_port in bound:
            base = _base_url(bound_host, bound_port, "https" if settings.tls.serves_tls else "http")
            out.print(f"[bold green]devgen {service} is up[/] at {base}/  (docs: {base}/docs)")
        out.file.flush()

    try:
        run_server(
            app,
            host=host,
            port=definition.port if port is None else port,
            announce=announce,
            forwarded_allow=forwarded_allow,
            tls=server_options(settings.tls),
        )
    except StartupFailed as exc:
        fail(f"devgen {service} could not start: {exc}")
