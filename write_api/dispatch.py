"""Shortcuts through FastAPI's routing, each worth several per cent of a create's CPU.

Route lookup by resource family instead of FastAPI's linear scan over every route.

FastAPI (Starlette) tries a request against each route's pattern in order: with ~120 routes
that was about a third of a create's CPU. `FamilyDispatch` indexes the API routes by the
first two segments of their path (`/v1/leads`, `/v1/track`) and tries only that family's
few routes. Whatever they do not fully match (an unknown path, a wrong method, a slash to
redirect, the docs) goes to the router's own scan unchanged, so answers do not change;
the OpenAPI document is built from the same routes as before.

`RequestOnlyRoute`: an endpoint that takes only the request is called directly (`body_schema`
documents the body it reads itself). `RequestOnlyShortcut` goes further for those routes (the
creates and `/v1/track`, the API's busiest): from the innermost of the app's middleware it
calls the endpoint and turns its exceptions into responses by the app's own handlers, as
FastAPI's exception middleware would. The layers it skips (that middleware, FastAPI's exit
stacks, the router, the route's request wrapper, each wrapping `send` again) did nothing
for these endpoints but cost about 20 microseconds a request. The middleware around it (the
500 for an unhandled exception, the body size limit) still runs.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from write_api.models import with_component_refs

# An exception handler of the app (FastAPI's and ours are all coroutines).
Handler = Callable[[Request, Any], Awaitable[Response]]


class RequestOnlyRoute(APIRoute):
    """A route whose endpoint takes only the request and returns its Response: FastAPI still
    documents it (its body through `openapi_extra`), matches it and turns its exceptions into
    error responses, but calls the endpoint directly. Solving the parameters of an endpoint
    that has none but the request was 7 % of a create's CPU."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        parameters = list(inspect.signature(self.endpoint, eval_str=True).parameters.values())
        if len(parameters) != 1 or parameters[0].annotation is not Request:
            raise TypeError(
                f"{self.path}: the endpoint of a RequestOnlyRoute takes only the request"
            )
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra` that documents the JSON body an endpoint reads itself as `model`."""
    schema = with_component_refs(model.model_json_schema())
    if "$defs" in schema:  # its "#/$defs/..." would point into the document, not the schema
        raise TypeError(f"{model.__name__}: a nested model needs OpenAPI components")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def family(path: str) -> str:
    """`/v1/leads/{object_id}/clicks` -> `/v1/leads`."""
    return "/".join(path.split("/", 3)[:3])


def _by_family(routes: list[APIRoute]) -> dict[tuple[str, str], tuple[APIRoute, ...]]:
    """The routes by family and method: a route of another method is never a full match."""
    families: defaultdict[tuple[str, str], list[APIRoute]] = defaultdict(list)
    for route in routes:
        key = family(route.path)
        if "{" not in key:  # a parameter in the family part: left to the scan
            for method in route.methods or ():
                families[key, method].append(route)
    return {key: tuple(members) for key, members in families.items()}


def _matched(
    families: dict[tuple[str, str], tuple[APIRoute, ...]], scope: Scope
) -> APIRoute | None:
    """The route of `families` that fully matches an HTTP request, its path parameters then
    set in `scope`, as the router would; None for any other."""
    if scope["type"] != "http":
        return None
    for route in families.get((family(scope["path"]), scope["method"]), ()):
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            scope.update(child_scope)
            return route
    return None


class FamilyDispatch:
    def __init__(self, routes: list[APIRoute], scan: ASGIApp) -> None:
        self.scan = scan
        self.families = _by_family(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if route := _matched(self.families, scope):
            await route.handle(scope, receive, send)
        else:
            await self.scan(scope, receive, send)


class RequestOnlyShortcut:
    """The `RequestOnlyRoute`s of `routes`, called from here; every other request goes on to
    `app`. `handlers` are the app's exception handlers, by class and by HTTP status, as its
    exception middleware has them: an exception none handles goes up, to the 500."""

    def __init__(self, app: ASGIApp, routes: list[APIRoute], handlers: dict[Any, Handler]) -> None:
        self.app = app
        self.families = _by_family([r for r in routes if isinstance(r, RequestOnlyRoute)])
        self.by_class = {k: v for k, v in handlers.items() if not isinstance(k, int)}
        self.by_status = {k: v for k, v in handlers.items() if isinstance(k, int)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if route := _matched(self.families, scope):
            await self._answer(route.endpoint, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _answer(
        self,
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as error:
            handler = self._handler(error)
            if handler is None:
                raise
            response = await handler(request, error)
            error.__traceback__ = None  # a reused exception would pile up tracebacks
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> Handler | None:
        """The handler Starlette's exception middleware would pick for `error`."""
        if isinstance(error, HTTPException) and error.status_code in self.by_status:
            return self.by_status[error.status_code]
        for cls in type(error).__mro__:
            if cls in self.by_class:
                return self.by_class[cls]
        return None


def install(app: FastAPI) -> None:
    """Once every route, handler and middleware is added: the request-only routes called from
    the innermost middleware, the family index in front of the router's scan for the rest."""
    routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    app.router.middleware_stack = FamilyDispatch(routes, app.router.middleware_stack)
    # What FastAPI gives its exception middleware: all but the 500's handler, which stays
    # with the server-error middleware outside.
    handlers: dict[Any, Handler] = {}
    for key, handler in app.exception_handlers.items():
        if key in (500, Exception):
            continue
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"{handler.__name__}: the shortcut awaits exception handlers")
        handlers[key] = cast(Handler, handler)
    # Appended: the innermost of the app's own middleware, so theirs still wraps these routes.
    app.user_middleware.append(Middleware(RequestOnlyShortcut, routes=routes, handlers=handlers))
