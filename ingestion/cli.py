"""`bcf`: the command line of BotCriptoFy2 Analytics."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from ingestion.db.engine import database_url
from ingestion.local_services import LocalPostgres, LocalRedis, ServiceError
from ingestion.settings import Settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
services_app = typer.Typer(
    help="Private PostgreSQL and Redis in the data folder.", no_args_is_help=True
)
db_app = typer.Typer(help="Operational schema migrations (Alembic).", no_args_is_help=True)
app.add_typer(services_app, name="services")
app.add_typer(db_app, name="db")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Problems a person can fix end the command with one line, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ServiceError as error:
            errors.print(f"[red]error:[/red] {error}")
        except ValidationError as error:
            for problem in error.errors():
                field = "BCF_" + "_".join(str(p) for p in problem["loc"]).upper()
                errors.print(f"[red]error:[/red] setting {field}: {problem['msg']}")
        except OperationalError as error:
            errors.print(f"[red]error:[/red] database unreachable: {error.orig}")
        raise typer.Exit(1)

    return wrapper


def _settings() -> Settings:
    return Settings()


def _local_services(settings: Settings) -> tuple[LocalPostgres, LocalRedis]:
    return (
        LocalPostgres(
            settings.data_dir,
            port=settings.services_postgres_port,
            os_user=settings.services_os_user,
            bin_dir=settings.services_postgres_bin,
        ),
        LocalRedis(settings.data_dir, port=settings.services_redis_port),
    )


def _database_url(settings: Settings) -> str:
    """The configured database, starting the private cluster when none is configured."""
    if not settings.database_url:
        postgres, _ = _local_services(settings)
        if not postgres.is_running():
            console.print(postgres.start())
    return database_url(settings)


@services_app.command("up")
@one_line_errors
def services_up() -> None:
    """Start PostgreSQL (and Redis, when redis-server is on PATH) on free loopback ports."""
    for service in _local_services(_settings()):
        console.print(service.start())


@services_app.command("down")
@one_line_errors
def services_down(
    delete: Annotated[bool, typer.Option(help="Also delete their data.")] = False,
) -> None:
    """Stop the private services; with --delete, remove their data too."""
    for service in _local_services(_settings()):
        console.print(service.stop())
        if delete:
            service.delete()
            console.print(f"deleted {service.root}")


@services_app.command("status")
@one_line_errors
def services_status() -> None:
    """Show whether the private services run, and their URLs."""
    settings = _settings()
    for service in _local_services(settings):
        status = service.status()
        pid = f"pid {status.pid}" if status.pid else ""
        console.print(
            f"{status.name:<11} {status.state:<11} {status.url or '-'}  {pid}  {status.detail}",
            soft_wrap=True,
        )
    if settings.database_url or settings.redis_url:
        console.print("BCF_DATABASE_URL/BCF_REDIS_URL are set: bcf uses those, not these.")


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database to REVISION (default: the latest). Safe to run again."""
    from ingestion.db import migrate  # Alembic takes a second to import; only db commands need it

    url = _database_url(_settings())
    migrate.upgrade(url, revision)
    console.print(f"database at {migrate.current(url)}")


@db_app.command("downgrade")
@one_line_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Migrate the database down to REVISION."""
    from ingestion.db import migrate

    url = _database_url(_settings())
    migrate.downgrade(url, revision)
    console.print(f"database at {migrate.current(url)}")


@db_app.command("current")
@one_line_errors
def db_current() -> None:
    """Show the revision the database is at."""
    from ingestion.db import migrate

    console.print(migrate.current(_database_url(_settings())))


@app.command("settings")
@one_line_errors
def show_settings() -> None:
    """Show the effective settings (secrets hidden) and where the services are."""
    settings = _settings()
    table = Table("setting", "value")
    for name, value in settings.model_dump().items():
        table.add_row(f"BCF_{name.upper()}", str(value))
    console.print(table)


if __name__ == "__main__":
    app()
