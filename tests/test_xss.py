"""Markup inside a corpus file shows as text in the browser and never runs.

A document holding ``<script>`` and ``<img onerror=...>`` (and template syntax) is indexed into
a temp index, the app serves it, and Chromium renders the answer, the sources panel and the
document view: ``window.__xss`` must stay undefined and the literal markup must be visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_corpus

import qa
from app.launcher import running_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
TEMPLATE = "${window.__xss=3} and {{value}}"
HARBOR = f"""Harbor Maintenance Log

The harbor master of Port Elwood is Marta Quill, who has kept the maintenance log since 2019.

During the spring inspection, engineers found the string {SCRIPT} painted on the north pier.

A second inscription, {IMG}, was found on the south pier next to the lighthouse.

The lighthouse door carried the template markers {TEMPLATE} in chalk.
"""
FERRY = """Ferry Timetable Notes

The morning ferry to Gull Island leaves Port Elwood at 07:15 and returns at 09:40.

In winter the afternoon crossing is cancelled when the wind exceeds 40 knots.
"""
QUESTION = "What string did engineers find painted on the north pier?"
ANSWERS = "#qa-chat .qa-answer:not(.qa-pending), #qa-chat .qa-abstain, #qa-chat .qa-error"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("xss")
    corpus = make_corpus(root / "corpus", {"harbor-log.txt": HARBOR, "ferry.txt": FERRY})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=root / "index")
    report = qa.reindex(settings, progress=False)
    assert report.documents == 2
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(root / "index")}
    with running_app(env, root / "app.log") as url:
        yield url


def _no_injected_nodes(page: Any) -> None:
    for panel in ("#qa-chat", "#qa-sources", "#qa-doc", "#qa-convs", "#qa-doclist"):
        assert page.locator(f"{panel} script").count() == 0
        assert page.locator(f"{panel} img[src='x']").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_markup_in_a_document_is_shown_as_text(app_url: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("#qa-question textarea", timeout=60_000)

    page.fill("#qa-question textarea", QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(ANSWERS, timeout=120_000)
    page.wait_for_selector("#qa-doc mark#qa-target", timeout=30_000)
    _no_injected_nodes(page)

    # the cited (or searched) passages show the markup literally, whichever passage won
    shown = page.inner_text("#qa-chat") + page.inner_text("#qa-sources")
    assert any(markup in shown for markup in (SCRIPT, IMG, TEMPLATE)), shown

    # open every offered place in the harbor log: the full document shows all markup as text
    options = page.locator("#qa-choice label")
    opened = 0
    for i in range(options.count()):
        if "Harbor" not in options.nth(i).inner_text():
            continue
        options.nth(i).click()
        page.wait_for_function(
            "document.querySelector('#qa-doc').innerText.includes('Marta Quill')",
            timeout=30_000,
        )
        doc = page.inner_text("#qa-doc .qa-doc-text")
        assert SCRIPT in doc and IMG in doc and TEMPLATE in doc
        _no_injected_nodes(page)
        opened += 1
    assert opened >= 1

    # a question carrying markup is shown as text too
    page.fill("#qa-question textarea", f"Is {IMG} on the south pier?")
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll({ANSWERS!r}).length >= 2", timeout=60_000
    )
    assert IMG in page.inner_text("#qa-chat .qa-user >> nth=1")
    _no_injected_nodes(page)
    # the conversation list (titled by the first question) and the documents panel too
    page.get_by_text("Documents — add, replace, delete").click()
    page.wait_for_selector("#qa-doclist .qa-doctable", timeout=30_000)
    assert "Harbor Maintenance Log" in page.inner_text("#qa-doclist")
    _no_injected_nodes(page)
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)
    assert (tmp_path / "xss.png").stat().st_size > 0
    page.close()
