"""Who is asking and may they: session cookies or Bearer tokens, roles, CSRF tokens, login rate limit."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path

from fastapi import HTTPException, Request

from daguerre.archive.users import Account, account, check_token
from daguerre.web.service import reader_sessions

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
VISITOR = Account("visitor", "visitor")  # anyone, in --public mode


def session_secret(folder: Path) -> str:
    """The key that signs session cookies: made once per archive, kept beside its signing key (mode 600)."""
    path = folder / "web-session.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


def who(request: Request) -> Account | None:
    """The account behind a Bearer token or the session cookie (re-read, so removed users are out at once)."""
    archive = request.app.state.archive
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = check_token(archive, auth[7:].strip(), reader_sessions(archive))
        if found is None:
            raise HTTPException(401, "invalid API token")
        request.state.bearer = True
        return found
    name = request.session.get("user")
    return account(archive, name, reader_sessions(archive)) if name else None


def reader(request: Request) -> Account:
    """Anyone allowed to look: a logged-in account, or a visitor when the server runs with --public."""
    found = who(request)
    if found is not None:
        return found
    if request.app.state.public:
        return VISITOR
    raise HTTPException(401, "log in first")


def log_in_first(request: Request) -> HTTPException:
    """401 for a caller with no account: the API's callers are scripts, so it names the header they need."""
    api = request.url.path.startswith("/api/")
    return HTTPException(401, "log in first (send Authorization: Bearer TOKEN)" if api else "log in first")


def writer(request: Request, role: str = "editor") -> Account:
    """An account with at least ``role``; cookie-authenticated writes must also carry the CSRF token."""
    found = who(request)
    if found is None:
        raise log_in_first(request)
    if found.role == "visitor" or not found.can(role):
        raise HTTPException(403, f"needs the {role} role; {found.name} is a {found.role}")
    return found


def editor(request: Request) -> Account:
    return writer(request, "editor")


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return request.session["csrf"]


async def check_csrf(request: Request) -> None:
    """Every cookie-authenticated write carries the session's token (form field or X-CSRF-Token header).

    A caller with neither a token nor a session is told to log in (401), not to fix a CSRF token it never had:
    an API script, or a page whose session has ended. The CSRF check is for browser sessions."""
    if request.method in SAFE_METHODS or request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if not request.session.get("user") and request.url.path not in ("/login", "/logout"):
        raise log_in_first(request)  # a page's button after the session ended: to the login form (app.py)
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")):
        sent = (await request.form()).get("csrf")
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window`` seconds for one address and for one user name."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts, self.window = attempts, window
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        q = self.failures[key]
        while q and q[0] < time.monotonic() - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        for k in keys:
            self._recent(k).append(time.monotonic())


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
