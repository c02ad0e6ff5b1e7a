"""Full-text search over the catalogue (SQLite FTS5 or PostgreSQL full text) with metadata filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from daguerre.archive.catalogue import Item

_WORD = re.compile(r"\w+", re.UNICODE)


def _fulltext(q: Select, session: Session, query: str) -> Select:
    words = _WORD.findall(query)
    if not words:
        return q
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join(f'"{w}"*' for w in words)  # every word, as a prefix; quoted so no FTS syntax leaks in
        return q.where(Item.pk.in_(select(text("rowid")).select_from(text("items_fts"))
                                   .where(text("items_fts MATCH :match").bindparams(match=match))))
    tsquery = " & ".join(f"{w}:*" for w in words)
    simple = literal_column("'simple'::regconfig")  # a constant, so the expression index ix_items_fts applies
    return q.where(func.to_tsvector(simple, Item.search_text).op("@@")(func.to_tsquery(simple, tsquery)))


DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")  # 1900, 1900-05, 1900-05-01
KINDS = ("master", "derivative")


def check_filters(filters: dict) -> None:
    """A one-line ValueError for a date filter that is not a year, year-month or year-month-day, or an unknown kind:
    they matched nothing, silently (dates compare as text)."""
    for key in ("date_from", "date_to"):
        if filters.get(key) and not DATE.fullmatch(str(filters[key])):
            raise ValueError(f"{key} {filters[key]!r}: give a year, year-month or year-month-day (1900, 1900-05, "
                             "1900-05-01)")
    if filters.get("kind") and filters["kind"] not in KINDS:
        raise ValueError(f"kind {filters['kind']!r}: one of {', '.join(KINDS)} (any: both)")


def search(session: Session, query: str = "", *, limit: int | None = 100, **filters: object) -> list[Item]:
    """Items matching every word of ``query`` (prefixes too) and every filter given, oldest first.

    Filters: ``date_from``, ``date_to``, ``operation``, ``model``, ``rights``, ``kind``, ``include_withdrawn``.
    Dates compare as ISO text, so ``date_from="1900"`` and ``date_to="1920-12-31"`` both work.
    """
    return list(session.scalars(matching(select(Item), session, query, **filters).order_by(Item.pk).limit(limit)))


def search_keys(session: Session, query: str = "", *, after: int = 0, limit: int = 1000,
                **filters: object) -> list[tuple[int, str]]:
    """One page of `search`'s matches as (key, item id), oldest first, from the key after ``after``: a whole
    collection is read page by page (keyset pagination: each page is an index range, not an OFFSET scan)."""
    q = matching(select(Item.pk, Item.id), session, query, **filters).where(Item.pk > after)
    return [tuple(r) for r in session.execute(q.order_by(Item.pk).limit(limit))]


def matching(q: Select, session: Session, query: str = "", *, date_from: str | None = None,
              date_to: str | None = None, operation: str | None = None, model: str | None = None,
              rights: str | None = None, kind: str | None = None, include_withdrawn: bool = False) -> Select:
    q = _fulltext(q, session, query)
    if date_from:
        q = q.where(Item.date >= date_from)
    if date_to:
        q = q.where(func.substr(Item.date, 1, len(date_to)) <= date_to)
    if operation:
        q = q.where(Item.operation == operation)
    if model:
        q = q.where(Item.models.contains(model, autoescape=True))
    if rights:
        q = q.where(func.lower(Item.rights).contains(rights.lower(), autoescape=True))
    if kind:
        q = q.where(Item.kind == kind)
    if not include_withdrawn:
        q = q.where(Item.withdrawn.is_(False))
    return q


SORTS = {"newest": (Item.pk.desc(),), "oldest": (Item.pk.asc(),), "date": (Item.date.is_(None), Item.date, Item.pk),
         "title": (Item.title, Item.pk)}
FACET_SAMPLE = 20_000  # a text search's facets are counted over at most this many of its matches


@dataclass
class Page:
    """One page of a collection view: its items, how many match in all, and the facet counts."""

    items: list[Item]
    total: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _filtered(session: Session, query: str, kind: str | None = None, operation: str | None = None,
              model: str | None = None, decade: str | None = None, creator: str | None = None,
              withdrawn: str = "hide") -> Select:
    q = _fulltext(select(Item), session, query)
    if kind:
        q = q.where(Item.kind == kind)
    if operation:
        q = q.where(Item.operation == operation)
    if model:
        q = q.where(Item.models.contains(model, autoescape=True))
    if decade and decade[:3].isdigit():
        q = q.where(Item.date >= decade[:3], Item.date < decade[:3] + "\uffff")  # a range the date index serves
    if creator:
        q = q.where(Item.creator == creator)
    if withdrawn in ("only", "show"):
        return q.where(Item.withdrawn.is_(True)) if withdrawn == "only" else q
    if _WORD.search(query or "") and session.get_bind().dialect.name == "sqlite":
        # an expression no index serves, so that SQLite reads the (few) full-text matches by rowid
        return q.where(func.coalesce(Item.withdrawn, False).is_(False))
    return q.where(Item.withdrawn.is_(False))


def browse(session: Session, query: str = "", *, kind: str | None = None, operation: str | None = None,
           model: str | None = None, decade: str | None = None, creator: str | None = None,
           withdrawn: str = "hide", sort: str = "newest", offset: int = 0, limit: int = 48,
           facets: bool = True, total: int | None = None) -> Page:
    """A page of the collection: indexed filters, one ``LIMIT``/``OFFSET`` query and a count (plus the facets).

    ``decade`` is like ``"1920"``; ``withdrawn`` is ``hide``, ``show`` or ``only``; ``total``: the count, when
    the caller already knows it.
    """
    filters = {"kind": kind, "operation": operation, "model": model, "decade": decade, "creator": creator,
               "withdrawn": withdrawn}
    q = _filtered(session, query, **filters)
    if total is None:
        total = session.scalar(select(func.count()).select_from(q.with_only_columns(Item.pk).subquery()))
    items = list(session.scalars(q.order_by(*SORTS.get(sort, SORTS["newest"])).offset(max(0, offset)).limit(limit)))
    return Page(items, total or 0, facet_counts(session, query, **filters) if facets else {})


def facet_counts(session: Session, query: str = "", **filters: object) -> dict[str, list[tuple[str, int]]]:
    """The eight commonest values of kind, operation, decade and creator among the matching items.

    Without search words each facet is one grouped count over an index range ((withdrawn, column) indexes);
    with words, the matches' (at most `FACET_SAMPLE`) facet columns are read once and counted.
    """
    from collections import Counter

    q = _filtered(session, query, **filters)
    columns = {"kind": Item.kind, "operation": Item.operation, "decade": func.substr(Item.date, 1, 3),
               "creator": Item.creator}
    out: dict[str, list[tuple[str, int]]] = {}
    if _WORD.search(query or ""):
        rows = session.execute(q.with_only_columns(*columns.values()).limit(FACET_SAMPLE)).all()
        for i, name in enumerate(columns):
            counts = Counter(r[i] for r in rows if r[i] is not None)
            out[name] = counts.most_common(8)
    else:
        for name, col in columns.items():
            n = func.count().label("n")
            out[name] = [tuple(r) for r in session.execute(q.with_only_columns(col, n).where(col.is_not(None))
                                                           .group_by(col).order_by(n.desc()).limit(8)).all()]
    out["decade"] = [(f"{v}0", c) for v, c in out["decade"]]
    return out
