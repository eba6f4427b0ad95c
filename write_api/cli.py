"""`bcf api` (serve the write API) and `bcf api-key create|revoke|list`.

Light to import: `bcf --help` should not pay for FastAPI; the work imports it when it runs.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
api_key_app = typer.Typer(help="API keys of the write API (stored hashed).", no_args_is_help=True)

P = ParamSpec("P")
R = TypeVar("R")


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import psycopg
        from pydantic import ValidationError

        from core.services import ServiceError
        from write_api.keys import ApiKeyError

        try:
            return command(*args, **kwargs)
        except (ApiKeyError, ServiceError) as error:
            errors.print(f"[red]error:[/red] {error}")
        except ValidationError as error:
            for problem in error.errors():
                field = "_".join(str(p) for p in problem["loc"]).upper()
                errors.print(f"[red]error:[/red] setting {field}: {problem['msg']}")
        except psycopg.errors.UndefinedTable:
            errors.print("[red]error:[/red] the database has no api.api_keys: run `bcf db upgrade`")
        except psycopg.OperationalError as error:
            errors.print(f"[red]error:[/red] database unreachable: {error}")
        raise typer.Exit(1)

    return wrapper


def _database_url() -> str:
    from core.db.engine import database_url
    from core.settings import Settings

    return database_url(Settings())


@_one_line_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the write API (uvicorn): /v1, /v1/openapi.json, /healthz, /readyz."""
    import os

    import uvicorn

    from core.db.engine import redis_url
    from core.settings import Settings
    from write_api.config import ApiSettings

    settings = Settings()
    ApiSettings()  # refuse bad BCF_API_* settings here, in one line, not in every worker
    # Workers build the app from the environment: name the services found here.
    os.environ["BCF_DATABASE_URL"] = _database_url()
    if found_redis := redis_url(settings):
        os.environ["BCF_REDIS_URL"] = found_redis
    else:
        errors.print(
            "[yellow]warning:[/yellow] no Redis: tracking events go straight to the database, "
            "idempotency keys to api.idempotency_keys, and there is no rate limit"
        )
    console.print(f"write API on http://{host}:{port}/v1 (docs: /v1/docs); Ctrl-C stops it")
    uvicorn.run(
        "write_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        server_header=False,  # no "server: uvicorn" to fingerprint
    )


@api_key_app.command("create")
@_one_line_errors
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    tenant: Annotated[
        uuid.UUID | None, typer.Option(help="The tenant the key acts for.", show_default=False)
    ] = None,
    platform: Annotated[
        bool, typer.Option("--platform", help="A platform key: global resources, new tenants.")
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="read, write or track; repeat for several (default: read, write)."),
    ] = None,
) -> None:
    """Create a key for a tenant (--tenant ID) or the platform (--platform); shown once."""
    from write_api.keys import ApiKeyError, create_key

    if (tenant is None) == (not platform):
        raise ApiKeyError("pass exactly one of --tenant ID and --platform")
    row, key = create_key(
        _database_url(), name, tenant_id=tenant, scopes=tuple(scope or ("read", "write"))
    )
    owner = f"tenant {row.tenant_id}" if row.tenant_id else "the platform"
    console.print(f"key {row.prefix} ({', '.join(row.scopes)}) for {owner}; store it now:")
    print(key)


@api_key_app.command("revoke")
@_one_line_errors
def revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix (as listed), id or whole key.")],
) -> None:
    """Revoke a key; requests with it are refused from then on."""
    from write_api.keys import revoke_key

    row = revoke_key(_database_url(), key)
    console.print(f"key {row.prefix} revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S %Z}")


@api_key_app.command("list")
@_one_line_errors
def list_(
    tenant: Annotated[
        uuid.UUID | None, typer.Option(help="Only this tenant's keys.", show_default=False)
    ] = None,
) -> None:
    """List keys (never their secrets)."""
    from write_api.keys import list_keys

    table = Table("name", "scopes", "created", "revoked")
    table.add_column("prefix", no_wrap=True)
    table.add_column("owner", no_wrap=True)
    for row in list_keys(_database_url(), tenant):
        table.add_row(
            row.name,
            ", ".join(row.scopes),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            row.prefix,
            str(row.tenant_id) if row.tenant_id else "platform",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `api` and `api-key` to the `bcf` command."""
    app.command("api")(serve)
    app.add_typer(api_key_app, name="api-key")
