"""BM25: scoring, saving, and patching after a small update instead of rebuilding."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.index.lexical import LexicalIndex

TEXTS = {
    f"c{i}": text
    for i, text in enumerate(
        [
            "Sanctions on Russian oil exports were tightened in August.",
            "The Black Sea talks took place in Riyadh with both delegations.",
            "Kellogg proposed freezing the front lines at their current positions.",
            "North Korea sent troops to fight alongside Russian forces in Kursk.",
            "The European Union kept its support for Ukraine unchanged.",
            "Tariffs on imports from India were raised to penalise oil purchases.",
        ]
        * 4  # enough chunks that a two-chunk patch stays under the patch limit
    )
}


def _index() -> LexicalIndex:
    return LexicalIndex(list(TEXTS), list(TEXTS.values()))


def test_search_finds_the_chunk_with_the_words() -> None:
    hits = _index().search("Where were the Black Sea talks?", 3)
    assert hits and TEXTS[hits[0][0]].startswith("The Black Sea talks")
    assert all(a[1] >= b[1] for a, b in zip(hits, hits[1:], strict=False))
    assert _index().search("zebra quantum", 3) == []


def test_patch_masks_removed_and_scores_added_like_the_base() -> None:
    base = _index()
    talks = [c for c, t in TEXTS.items() if "Black Sea" in t]
    original = dict(base.search("Black Sea talks Riyadh", 50))
    patched = base.patched(talks[:1], [("new-talks", TEXTS[talks[0]]), ("new-tanks", "Tanks.")])
    hits = dict(patched.search("Black Sea talks Riyadh", 50))
    assert talks[0] not in hits and "new-talks" in hits
    # the same text scores the same, so patched chunks rank fairly among the others
    assert hits["new-talks"] == pytest.approx(original[talks[0]], rel=1e-4)
    assert len(patched) == len(base) + 1
    # removing a patched-in chunk again drops it
    again = patched.patched(["new-talks"], [])
    assert "new-talks" not in dict(again.search("Black Sea talks Riyadh", 50))
    assert len(again) == len(base)


def test_a_patch_too_large_asks_for_a_rebuild() -> None:
    base = _index()
    with pytest.raises(ValueError):
        base.patched([], [(f"n{i}", "More text about oil.") for i in range(len(TEXTS))])


def test_saved_patch_links_the_base_and_loads_the_same(tmp_path: Path) -> None:
    base = _index()
    base.save(tmp_path / "r1")
    patched = LexicalIndex.cached(
        tmp_path / "r2", lambda: pytest.fail("rebuilt instead of patched"),
        expected=len(base),
        patch=(tmp_path / "r1", ["c0"], lambda: [("c99", "Oil sanctions were tightened.")]),
    )
    assert "c99" in dict(patched.search("oil sanctions", 10))
    loaded = LexicalIndex.load(tmp_path / "r2")
    for q in ("oil sanctions", "Black Sea", "front lines Kellogg"):
        assert loaded.search(q, 10) == patched.search(q, 10)
    for f in (tmp_path / "r1" / "bm25").iterdir():  # the base's arrays are shared, not copied
        assert f.stat().st_ino == (tmp_path / "r2" / "bm25" / f.name).stat().st_ino


def test_cached_rebuilds_when_the_previous_index_is_missing(tmp_path: Path) -> None:
    built = LexicalIndex.cached(
        tmp_path / "r2", lambda: list(TEXTS.items()), expected=len(TEXTS),
        patch=(tmp_path / "absent", ["c0"], lambda: []),
    )
    assert len(built) == len(TEXTS) and not built.removed


def test_the_lexical_query_leaves_out_the_words_that_name_the_sources() -> None:
    from qa.retrieval.hybrid import lexical_query

    assert lexical_query("According to the outlook, what kind of peace does the author expect?"
                         ) == "According to the what of peace does the expect?"
    assert lexical_query("What does the CRS brief say about Kim?") == (
        "What does the CRS say about Kim?")
    assert lexical_query("the outlook") == "the outlook"  # nothing else left: all of it
