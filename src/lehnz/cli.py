"""The ``lehnz`` command: parse options, then start a role."""

from __future__ import annotations

import contextlib
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from lehnz.config import Service, Settings
from lehnz.imports.rows import Kind

if TYPE_CHECKING:
    from lehnz.imports.importer import ImportReport

app = typer.Typer(help="lehnz: a self-hosted recommendations API for online stores.")
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the SQLite database and the generated secret live [env: LEHNZ_DATA_DIR].",
    ),
]


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    """The settings, or a one-line error per bad ``LEHNZ_*`` value (exit 2), not a traceback."""
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            name = "LEHNZ_" + "_".join(str(part) for part in error["loc"]).upper()
            errors.print(f"[red]{name}: {error['msg']} (got {error.get('input')!r})[/]")
        raise typer.Exit(2) from None


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
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Processes serving the API; default: the cores this process may use "
            "[env: LEHNZ_WORKERS].",
        ),
    ] = None,
) -> None:
    """Apply migrations and serve the API.

    With ``--workers`` above 1 the same port is served by that many processes, so every core
    answers requests (one process runs on one core at a time: Python's lock). The default
    is the number of cores: a request's work is CPU, so a third process on two cores only
    takes turns. Each process holds its own copy of the models (memory grows with N; lower
    N where models are large), and on SQLite they queue for its one write lock, as one
    process's threads already do. ``--workers 1`` serves in this process, as before."""
    _one_blas_thread()
    from lehnz.api.http_protocol import EnvelopeHttpToolsProtocol
    from lehnz.app import create_app
    from lehnz.gc_tuning import tune_for_serving
    from lehnz.runtime import build_runtime
    from lehnz.worker_processes import prepare
    from lehnz.worker_processes import serve as serve_workers

    if service and service not in ("all", "ingestion", "recommendations"):
        raise typer.BadParameter(
            "must be all, ingestion or recommendations", param_hint="--service"
        )
    chosen: Service | None = service or None  # type: ignore[assignment]
    settings = _settings(data_dir, service=chosen, workers=workers)
    processes = settings.resolved_workers()
    _warn_about_a_shared_setup(settings)
    runtime = build_runtime(settings)
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    if demo:
        _print_demo(runtime, url)
    else:
        console.print(f"lehnz serving [bold]{settings.service}[/] at [bold]{url}[/]")
    share_the_gil_often()
    tune_for_serving()
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1;
    # which proxies are trusted is LEHNZ_TRUSTED_PROXIES's decision alone. The protocol
    # answers requests too malformed to reach the app in the envelope too.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": settings.access_log,
        "proxy_headers": False,
        "http": EnvelopeHttpToolsProtocol,
    }
    if processes == 1:
        uvicorn.run(create_app(runtime=runtime), **options)
        return
    # Migrated and seeded once, here; each worker opens its own runtime.
    runtime.close()
    prepare(settings, processes)
    console.print(f"lehnz: {processes} worker processes")
    serve_workers(processes, options)


def _warn_about_a_shared_setup(settings: Settings) -> None:
    """A server database means other processes may share it: they must agree on the JWT
    key, and rate limits are exact across them only through Redis."""
    if settings.resolved_database_url().startswith("sqlite"):
        return
    if settings.secret_key is None:
        console.print(
            "[yellow]LEHNZ_SECRET_KEY is not set: developer tokens from this process will "
            "not be accepted by other processes. Set the same key everywhere.[/]"
        )
    if not settings.redis_url:
        console.print(
            "[yellow]LEHNZ_REDIS_URL is not set: rate limits are counted per process and "
            "other processes see new models and revoked keys within seconds, not at once.[/]"
        )


def _one_blas_thread() -> None:
    """Run OpenBLAS on one thread (unless OPENBLAS_NUM_THREADS says otherwise), set before
    NumPy loads it. A request's matrix products are small: a second BLAS thread made them
    no faster but spun on the other core, doubling each request's CPU (7.8 ms against 3.7 ms
    for a personal list on Online Retail), and a server has other requests for that core.
    Training Online Retail took 4% longer (37.6 s against 36.1 s)."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def share_the_gil_often() -> None:
    """Hand the GIL over every 1 ms instead of 5 ms (each worker of ``--workers`` too). A
    thread back from the database (a commit, a statement) waits for a busy thread's interval
    to end before it can go on; in a server whose requests parse JSON while others write,
    that wait was most of the write."""
    import sys

    sys.setswitchinterval(0.001)


def _print_demo(runtime: object, url: str) -> None:
    from lehnz.demo import prepare_demo
    from lehnz.runtime import Runtime

    assert isinstance(runtime, Runtime)
    demo = prepare_demo(runtime)
    console.rule("lehnz demo")
    console.print(f"URL              [bold]{url}[/]   (API docs: {url}/docs)", soft_wrap=True)
    console.print(f"Dashboard        [bold]{url}/login[/]", soft_wrap=True)
    console.print(f"Dashboard login  {demo.email} / {demo.password}", soft_wrap=True)
    console.print(f"Organisation     {demo.organization_id}", soft_wrap=True)
    console.print(f"Publishable key  [green]{demo.publishable_key}[/]", soft_wrap=True)
    console.print(f"Secret key       [yellow]{demo.secret_key}[/]", soft_wrap=True)
    console.print(
        f"Try              curl -s {url}/recommend -H 'X-Domain: commerce' "
        f"-H 'X-API-KEY: {demo.publishable_key}' -H 'Content-Type: application/json' "
        '-d \'{"user_id": "c18005", "limit": 5}\'',
        soft_wrap=True,
    )
    console.rule()


@app.command()
def worker(
    data_dir: DataDir = None,
    poll: Annotated[float, typer.Option(help="Seconds between looks at the event log.")] = 0.5,
    training: Annotated[
        bool,
        typer.Option(
            "--training/--no-training",
            help="Also retrain stale models (each organisation by one worker at a time).",
        ),
    ] = True,
) -> None:
    """Run the pipeline (identity stitching, user state, attribution) and scheduled
    training in the foreground. Any number of workers can share one PostgreSQL database:
    each organisation's events are processed by one worker at a time, exactly once."""
    import time

    from lehnz.runtime import build_runtime

    settings = _settings(data_dir)
    # A worker publishes notices (a new model) but serves nothing, so it does not listen.
    runtime = build_runtime(settings)
    scheduler = None
    if training:
        scheduler = runtime.training_scheduler()
        scheduler.start()
    _stop_on_sigterm()
    what = "the event log and stale models" if training else "the event log"
    console.print(f"lehnz worker: processing {what} (Ctrl+C to stop)")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                if runtime.pipeline.process_pending() == 0:
                    time.sleep(poll)
    finally:
        if scheduler is not None:
            scheduler.stop()
        runtime.close()


def _stop_on_sigterm() -> None:
    """Stop on SIGTERM (what process managers and ``docker stop`` send) as on Ctrl+C: the
    batch in hand rolls back and the next worker starts where it stopped."""
    import signal

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@app.command()
def train(
    org: Annotated[str, typer.Option("--org", help="The organisation to train.")],
    data_dir: DataDir = None,
) -> None:
    """Train an organisation's model now and make it the serving version."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from lehnz.runtime import build_runtime
    from lehnz.store import accounts as account_queries

    runtime = build_runtime(_settings(data_dir))
    try:
        with runtime.store.read() as connection:
            if not account_queries.organization_exists(connection, org):
                console.print(f"[red]No organisation with id '{org}'.[/]")
                raise typer.Exit(2)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            progress.add_task("Training: loading events, choosing settings, fitting", total=None)
            row = runtime.trainer.train(org)
    finally:
        runtime.close()
    trained_on = row.manifest.get("trained_on", {})
    validation = row.manifest.get("validation", {})
    console.print(
        f"Model v{row.version} serving: {trained_on.get('events', 0):,} events, "
        f"{trained_on.get('users', 0):,} users, {trained_on.get('items', 0):,} items, "
        f"{row.manifest.get('duration_seconds')} s, {(row.artifact_size or 0) / 1e6:.1f} MB"
    )
    if "metrics" in validation:
        metrics = validation["metrics"]
        console.print(
            f"Validation on the latest events: NDCG@10 {metrics['ndcg@10']:.4f}, "
            f"Recall@20 {metrics['recall@20']:.4f}, HitRate@10 {metrics['hit@10']:.4f} "
            f"({metrics['users']} users); chosen: {validation['chosen']}"
        )
    elif "skipped" in validation:
        console.print(f"Validation skipped: {validation['skipped']}")


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema up to date (``serve`` also does this at start)."""
    from lehnz.store import open_store

    settings = _settings(data_dir)
    store = open_store(settings.resolved_database_url())
    store.close()
    console.print("Database schema is up to date.")


org_app = typer.Typer(help="Organisations, made by the server's operator.")
app.add_typer(org_app, name="org")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option("--name", help="The organisation's name.")],
    email: Annotated[
        str, typer.Option("--email", help="Its first developer's e-mail, their login.")
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the developer's password from the first line of stdin instead of "
            "generating one.",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an organisation and its first developer, with the checks sign-up makes; works
    while LEHNZ_REGISTRATION=closed. Without --password-stdin a password is generated and
    printed, this once only."""
    import sys

    from lehnz.errors import LehnzError
    from lehnz.org_create import create_organization, generate_password, read_password

    password = read_password(sys.stdin) if password_stdin else generate_password()
    if password_stdin and not password:
        typer.echo("Error: --password-stdin: stdin held no password.", err=True)
        raise typer.Exit(1)
    try:
        account = create_organization(
            _settings(data_dir), name=name, email=email, password=password
        )
    except LehnzError as exc:  # ValidationFailed or Conflict, worded as the API words them
        typer.echo(f"Error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    # Plain lines, not Rich: scripts read them, and a name must not be taken for markup.
    typer.echo(f"Organisation  {account.organization_id}")
    typer.echo(f"Developer     {account.developer_id}")
    typer.echo(f"E-mail        {account.email}")
    if not password_stdin:
        typer.echo(f"Password      {password}   (generated; shown only this once)")


class ImportKind(StrEnum):
    items = "items"
    users = "users"
    events = "events"


IMPORT_KINDS: dict[ImportKind, Kind] = {
    ImportKind.items: "items",
    ImportKind.users: "users",
    ImportKind.events: "events",
}


@app.command("import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    org: Annotated[str, typer.Option("--org", help="The organisation to import into.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any row is invalid.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Import a CSV, JSON array or NDJSON file (gzip or not), as /api/v1/upload/* does."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from lehnz.errors import ValidationFailed
    from lehnz.imports.importer import UnreadableFile
    from lehnz.runtime import build_runtime
    from lehnz.store import accounts as account_queries

    runtime = build_runtime(_settings(data_dir))
    try:
        with runtime.store.read() as connection:
            if not account_queries.organization_exists(connection, org):
                console.print(f"[red]No organisation with id '{org}'.[/]")
                raise typer.Exit(2)
        columns = (*Progress.get_default_columns()[:1], BarColumn(), DownloadColumn())
        with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
            task = progress.add_task(f"Importing {kind.value}", total=file.stat().st_size)
            with file.open("rb") as raw:
                report = runtime.importer.run(
                    kind=IMPORT_KINDS[kind],
                    organization_id=org,
                    raw=raw,
                    filename=file.name,
                    strict=strict,
                    progress=lambda done: progress.update(task, completed=done),
                )
    except UnreadableFile as exc:
        console.print(f"[red]Cannot import {file}: {exc}[/]")
        raise typer.Exit(1) from exc
    except ValidationFailed as exc:
        console.print(f"[red]{exc.message}[/]")
        for problem in exc.problems[:20]:
            console.print(f"  {problem}")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    _print_report(report)


def _print_report(report: ImportReport) -> None:
    counts = f"rows {report.rows:,}, imported {report.imported:,}, "
    if report.kind == "events":
        counts += f"duplicates {report.duplicates:,}, "
    else:
        counts += f"updated {report.updated:,}, "
    console.print(f"[bold]{report.kind}[/] ({report.format}): {counts}rejected {report.rejected:,}")
    for error in report.errors[:20]:
        console.print(f"  line {error.line}: {error.reason}")
    if report.rejected > 20:
        console.print(f"  ... and {report.rejected - 20:,} more rejected rows")


bench_app = typer.Typer(help="Benchmarks of recommendation quality.")
app.add_typer(bench_app, name="bench")


@bench_app.command("quality")
def bench_quality(
    dataset: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="Folder with events.csv, items.csv")
    ],
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.5)] = 0.1,
    users: Annotated[int, typer.Option(min=1, help="Test users to sample")] = 1000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here")] = None,
    http: Annotated[
        str | None, typer.Option(help="Benchmark a running server through its public API")
    ] = None,
) -> None:
    """Split a dataset by time and score lehnz beside popularity, buy-again, item-kNN, EASE
    and ALS on the same split (Recall@20, NDCG@10, HitRate@10, coverage)."""
    import json

    from rich.table import Table

    from lehnz.evaluation.quality import run

    result = run(
        dataset,
        test_fraction=test_fraction,
        users=users,
        http=http,
        say=lambda message: console.print(f"[dim]{message}[/]"),
    )
    table = Table(title=f"{result['dataset']}: {result['test_users']:,} test users")
    for column in (
        "method",
        "NDCG@10",
        "Recall@20",
        "HitRate@10",
        "coverage",
        "NDCG repeat",
        "NDCG explore",
    ):
        table.add_column(column, justify="right" if column != "method" else "left")
    for name, m in result["results"].items():
        table.add_row(
            name,
            f"{m['ndcg@10']:.4f}",
            f"{m['recall@20']:.4f}",
            f"{m['hit@10']:.4f}",
            f"{m['coverage@10']:.3f}",
            f"{m['ndcg@10_repeat']:.4f}",
            f"{m['ndcg@10_explore']:.4f}",
        )
    console.print(table)
    console.print(
        f"lehnz / best baseline ({result['best_baseline']}) NDCG@10: "
        f"{result['ndcg_ratio_to_best_baseline']:.3f}x"
    )
    basket, session = result["basket"], result["session"]
    console.print(
        f"basket HitRate@10 ({basket['baskets']} baskets, one item left out): lehnz "
        f"{basket['lehnz_hit@10']:.4f}, plain co-occurrence {basket['cooccurrence_hit@10']:.4f}"
    )
    console.print(
        f"session HitRate@10 ({session['pairs']} next-item pairs): lehnz "
        f"{session['lehnz_hit@10']:.4f}, item-kNN {session['item_knn_hit@10']:.4f}"
    )
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
