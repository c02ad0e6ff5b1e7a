"""The FastAPI application: pages (server-rendered, htmx), the JSON API under /api, static and IIIF files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from daguerre.archive.api import Archive
from daguerre.web.security import LoginLimiter, session_secret

HERE = Path(__file__).parent


class UploadLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by Content-Length and while streaming."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._too_large(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send) -> None:
        mb = self.limit / 1e6
        response = JSONResponse({"detail": f"upload larger than the {mb:g} MB limit (--max-upload-mb)"}, 413)
        await response({"type": "http"}, None, send)


class _TooLarge(Exception):
    pass


def create_app(archive: Archive, public: bool = False, max_upload_mb: float = 200.0) -> FastAPI:
    """The web app over an open archive. ``public``: visitors may browse read-only without logging in."""
    from contextlib import asynccontextmanager

    from daguerre.web import api, pages
    from daguerre.web.runner import Runner

    runner = Runner(archive)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runner.start()
        yield
        runner.stop()

    app = FastAPI(title="daguerre", summary="Browse, restore and verify an archive of historical photographs.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)  # /docs below: FastAPI's loads a CDN
    app.state.runner = runner
    app.state.archive = archive
    app.state.public = public
    app.state.max_upload = int(max_upload_mb * 1e6)
    app.state.limiter = LoginLimiter()
    app.add_middleware(SessionMiddleware, secret_key=session_secret(archive.path / "keys"),
                       session_cookie="daguerre_session", same_site="strict", https_only=False, max_age=14 * 86400)
    app.add_middleware(UploadLimit, limit=app.state.max_upload)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """Swagger UI over /openapi.json from the vendored swagger-ui-dist (scripts/vendor-web.sh): FastAPI's own
        page loads it from cdn.jsdelivr.net (and a favicon from its site), blank on an offline network; no
        online validator either. ReDoc is not vendored: /redoc stays off."""
        from fastapi.openapi.docs import get_swagger_ui_html

        vendor = "/static/vendor/swagger-ui"
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{vendor}/swagger-ui.css",
                                   swagger_favicon_url=f"{vendor}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})

    @app.exception_handler(HTTPException)
    async def pages_log_in_first(request: Request, exc: HTTPException):
        """A page that needs a login sends the browser to the login form; the API answers JSON."""
        if request.url.path.startswith(("/api", "/iiif")):
            return await http_exception_handler(request, exc)
        if exc.status_code == 401 and request.headers.get("hx-request"):
            # htmx would follow a 303 and swap the whole login page into the polled table or the search results:
            # it sends the browser itself to the login form, which comes back to the page the user was on
            return Response(status_code=401, headers={"HX-Redirect": _login_url(_page_of(request))})
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", 303)
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<p class="error">{_escape(exc.detail)}</p>', exc.status_code)
        return pages.error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def pages_say_which_parameter(request: Request, exc: RequestValidationError):
        """A malformed query on a page (``?page=abc``): the error page naming it; the API answers FastAPI's JSON."""
        if request.url.path.startswith(("/api", "/iiif")):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        name = str((first.get("loc") or ("?",))[-1])
        message = f"{name}: missing" if first.get("type") == "missing" else (
            f"{name}: {first.get('input')!r} is not a valid {_KINDS.get(first.get('type', ''), 'value')}")
        return pages.error_page(request, 400, message)

    return app


_KINDS = {"int_parsing": "integer", "float_parsing": "number", "bool_parsing": "yes/no"}


def _page_of(request: Request) -> str:
    """The page an htmx request came from (its HX-Current-URL, path and query), else the request's own path."""
    from urllib.parse import urlsplit

    from daguerre.web.security import safe_next

    current = urlsplit(request.headers.get("hx-current-url", ""))
    if current.path and current.netloc in ("", request.url.netloc):
        return safe_next(current.path + (f"?{current.query}" if current.query else ""))
    return request.url.path


def _login_url(back: str) -> str:
    from urllib.parse import urlencode

    return "/login?" + urlencode({"next": back})


def _escape(text: object) -> str:
    from markupsafe import escape

    return str(escape(str(text)))
