"""Assembles the sandbox: the Lexware-compatible /v1 API behind the gateway, OAuth2, and the /_admin API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.errors import ApiError, regular_body
from sandbox.gateway import Gateway, is_api_path
from sandbox.persistence import open_persistence
from sandbox.routes import admin, contacts, finance, invoices, lifecycle, oauth, profile, voucherlist
from sandbox.store import SandboxState


def create_app(state_url: str | None = None) -> FastAPI:
    """The sandbox app; ``state_url`` ``sqlite:///file`` keeps its state across restarts (default: memory)."""
    app = FastAPI(title="Lexware Office sandbox", docs_url="/_admin/docs", redoc_url=None,
                  openapi_url="/_admin/openapi.json")
    state = SandboxState(open_persistence(state_url))
    app.state.sandbox = state
    for module in (profile, contacts, invoices, voucherlist, finance, oauth, lifecycle, admin):
        app.include_router(module.router)
    app.add_middleware(Gateway, state=state)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    return app


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers or None)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown /v1 routes and methods answer in Lexware's regular error format; /_admin keeps FastAPI's."""
    assert isinstance(exc, StarletteHTTPException)
    if is_api_path(request.url.path):
        return JSONResponse(regular_body(exc.status_code, request.url.path, str(exc.detail)),
                            status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": exc.errors()}, status_code=422)
