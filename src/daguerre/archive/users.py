"""Accounts (viewer, editor, admin) kept in the archive's catalogue: argon2 password hashes, API tokens
stored as their SHA-256 (a token is 256 random bits, shown once). Used by `daguerre users` and the web app.

    users.add(archive, "ada", "editor", "a long passphrase")
    token = users.new_token(archive, "ada")
    users.check_token(archive, token).role  # "editor"
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from daguerre.archive.catalogue import Base, now
from daguerre.archive.errors import ArchiveError

if TYPE_CHECKING:
    from daguerre.archive.api import Archive

ROLES = ("viewer", "editor", "admin")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 8


class User(Base):
    __tablename__ = "users"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    password_hash: Mapped[str | None] = mapped_column(Text)
    created: Mapped[str] = mapped_column(String(40))


class Token(Base):
    __tablename__ = "tokens"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created: Mapped[str] = mapped_column(String(40))


@dataclass(frozen=True)
class Account:
    """Who is asking: a name and a role (what the web layer passes around)."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True if this account has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def add(archive: Archive, name: str, role: str, password: str) -> Account:
    if not NAME.fullmatch(name):
        raise ArchiveError(f"{name!r}: a user name is 1-64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise ArchiveError(f"{role!r}: the role is one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ArchiveError(f"the password needs at least {MIN_PASSWORD} characters")
    with archive.session.begin() as s:
        if s.scalar(select(User).where(User.name == name)):
            raise ArchiveError(f"{name}: already a user")
        s.add(User(name=name, role=role, password_hash=_hasher().hash(password), created=now()))
    return Account(name, role)


def remove(archive: Archive, name: str) -> None:
    with archive.session.begin() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise ArchiveError(f"{name}: no such user")
        s.execute(delete(Token).where(Token.user_name == name))
        s.delete(user)


def accounts(archive: Archive) -> list[tuple[Account, int]]:
    """Every account with its number of API tokens."""
    with archive.session() as s:
        users = s.scalars(select(User).order_by(User.name)).all()
        tokens = s.scalars(select(Token.user_name)).all()
    return [(Account(u.name, u.role), tokens.count(u.name)) for u in users]


def has_admin(archive: Archive) -> bool:
    with archive.session() as s:
        return s.scalar(select(User.pk).where(User.role == "admin").limit(1)) is not None


def check_password(archive: Archive, name: str, password: str) -> Account | None:
    """The account if the password is right, else None (the same work is done for an unknown name)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    with archive.session() as s:
        user = s.scalar(select(User).where(User.name == name))
    hasher = _hasher()
    stored = user.password_hash if user and user.password_hash else _DUMMY.get()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return Account(user.name, user.role) if user else None


class _Dummy:
    """A hash to verify against for unknown names, so that timing does not tell which names exist."""

    value: str | None = None

    def get(self) -> str:
        if self.value is None:
            self.value = _hasher().hash(secrets.token_hex(16))
        return self.value


_DUMMY = _Dummy()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(archive: Archive, name: str) -> str:
    """A new API token for ``name``: returned once, only its SHA-256 is kept."""
    token = "dgr_" + secrets.token_urlsafe(32)
    with archive.session.begin() as s:
        if s.scalar(select(User).where(User.name == name)) is None:
            raise ArchiveError(f"{name}: no such user")
        s.add(Token(sha256=_digest(token), user_name=name, created=now()))
    return token


def check_token(archive: Archive, token: str, sessions=None) -> Account | None:
    """The token's account; ``sessions``: a read-only session factory to use instead of the archive's."""
    with (sessions or archive.session)() as s:
        row = s.execute(select(User.name, User.role).join(Token, Token.user_name == User.name)
                        .where(Token.sha256 == _digest(token))).first()
    return Account(*row) if row else None


def account(archive: Archive, name: str, sessions=None) -> Account | None:
    """The account called ``name`` as it is now (a session cookie may outlive a removed user)."""
    with (sessions or archive.session)() as s:
        row = s.execute(select(User.name, User.role).where(User.name == name)).first()
    return Account(*row) if row else None
