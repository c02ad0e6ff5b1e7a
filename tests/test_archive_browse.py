"""The collection view's query: filters, sorts, pages, counts and facets (SQLite and PostgreSQL)."""

from __future__ import annotations

from daguerre.archive import Archive
from daguerre.archive.search import browse, facet_counts


def test_browse_pages_sorts_filters_and_counts_facets(archive: Archive, photos) -> None:
    ids = archive.ingest([photos["astronaut.jpg"].parent]).added
    assert len(ids) == 4
    [tinted] = archive.apply("test-tint", [ids[0]], {"amount": 0.4})
    archive.withdraw(archive.apply("test-tint", [ids[1]], {"amount": 0.2})[0].id, reason="test")
    with archive.session() as s:
        everything = browse(s, limit=2)
        assert everything.total == 5 and [i.id for i in everything.items] == [tinted.id, ids[3]]  # newest first
        second = browse(s, limit=2, offset=2)
        assert [i.id for i in second.items] == [ids[2], ids[1]]
        assert dict(everything.facets["kind"]) == {"master": 4, "derivative": 1}
        assert dict(everything.facets["operation"]) == {"test-tint": 1}
        assert dict(everything.facets["decade"]) == {"1960": 2, "2010": 1}  # the astronaut (and its tint), coffee
        assert browse(s, withdrawn="only").total == 1 and browse(s, withdrawn="show").total == 6
        moon = browse(s, "moon")
        assert {i.id for i in moon.items} == {ids[0], tinted.id}  # the derivative's title names its master's
        assert dict(moon.facets["kind"]) == {"master": 1, "derivative": 1}
        assert [i.id for i in browse(s, "moon", kind="derivative").items] == [tinted.id]
        assert {i.id for i in browse(s, decade="1960").items} == {ids[0], tinted.id}
        titles = [i.title for i in browse(s, sort="title").items]
        assert titles == sorted(titles)
        assert facet_counts(s, "nothing-matches-this")["kind"] == []
