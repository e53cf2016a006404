"""The ``lehnz`` command: parse options, then start a role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel

from lehnz.config import Service, Settings

app = typer.Typer(help="lehnz: a self-hosted recommendations API for online stores.")
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the SQLite database and the generated secret live [env: LEHNZ_DATA_DIR].",
    ),
]


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    service: Annotated[
        str, typer.Option(help="all | ingestion | recommendations [env: LEHNZ_SERVICE]")
    ] = "",
    demo: Annotated[
        bool, typer.Option("--demo", help="Create a demo organisation and print its keys.")
    ] = False,
) -> None:
    """Apply migrations and serve the API."""
    from lehnz.app import create_app
    from lehnz.runtime import build_runtime

    if service and service not in ("all", "ingestion", "recommendations"):
        raise typer.BadParameter(
            "must be all, ingestion or recommendations", param_hint="--service"
        )
    chosen: Service | None = service or None  # type: ignore[assignment]
    settings = _settings(data_dir, service=chosen)
    runtime = build_runtime(settings)
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    if demo:
        _print_demo(runtime, url)
    else:
        console.print(f"lehnz serving [bold]{settings.service}[/] at [bold]{url}[/]")
    uvicorn.run(create_app(runtime=runtime), host=host, port=port, log_level="info")


def _print_demo(runtime: object, url: str) -> None:
    from lehnz.demo import prepare_demo
    from lehnz.runtime import Runtime

    assert isinstance(runtime, Runtime)
    demo = prepare_demo(runtime)
    body = (
        f"URL              [bold]{url}[/]   (API docs: {url}/docs)\n"
        f"Dashboard login  {demo.email} / {demo.password}\n"
        f"Organisation     {demo.organization_id}\n"
        f"Publishable key  [green]{demo.publishable_key}[/]\n"
        f"Secret key       [yellow]{demo.secret_key}[/]"
    )
    console.print(Panel(body, title="lehnz demo", expand=False), soft_wrap=True)


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema up to date (``serve`` also does this at start)."""
    from lehnz.store import open_store

    settings = _settings(data_dir)
    store = open_store(settings.resolved_database_url())
    store.close()
    console.print("Database schema is up to date.")
