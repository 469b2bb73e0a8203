"""The chat UI in a real headless Chromium: streaming, citations, follow-ups, abstention, re-index.

The app runs as a real ``python -m app`` subprocess over the session index; Playwright drives
Debian's Chromium (``make test`` installs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import qa

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRIMARY = "sejong-outlook-russia-2025.txt"
FIRST_Q = "Who was appointed special envoy to manage the war's resolution?"
FOLLOW_UP = "What is he reportedly working on?"
# ms: the first question loads the model (~10 s; longer on a busy machine); later ones take ~1 s
MODEL_WAIT = 300_000
ANSWERS = "#qa-chat .qa-answer:not(.qa-pending), #qa-chat .qa-abstain, #qa-chat .qa-error"

# Records every distinct text the streaming bubble shows, to prove the answer forms gradually.
WATCH_STREAM = """() => {
  window.__partials = [];
  const root = document.querySelector('#qa-chat');
  new MutationObserver(() => {
    for (const el of root.querySelectorAll('.qa-pending')) {
      const t = el.innerText.replace('▍', '').trim();
      if (window.__partials[window.__partials.length - 1] !== t) window.__partials.push(t);
    }
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for one more finished bubble; return that bubble."""
    done = page.locator(ANSWERS).count()
    page.fill("#qa-question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll({ANSWERS!r}).length > {done}", timeout=MODEL_WAIT
    )
    return page.locator(ANSWERS).nth(done)


def test_chat_streams_cites_and_follows_up(
    app_url: str, browser: Any, settings: qa.Settings, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    page.wait_for_selector("#qa-question textarea", timeout=60_000)

    # the header names the corpus once the index is loaded (read by the app, not by this
    # process, so the test never opens the index itself)
    documents = [p for p in settings.corpus_dir.iterdir() if not p.name.endswith(".meta.json")]
    page.wait_for_function(
        "document.querySelector('#qa-header').innerText.includes('documents')",
        timeout=MODEL_WAIT,
    )
    header = page.inner_text("#qa-header")
    assert f"{len(documents)} documents" in header and " chunks), indexed " in header

    # 1. a question about the primary document, streamed
    page.evaluate(WATCH_STREAM)
    first = ask(page, FIRST_Q)
    first_text = first.inner_text()
    assert "Kellogg" in first_text
    assert "[1]" in first_text and first.locator(".qa-marker").count() >= 1
    partials = [t for t in page.evaluate("window.__partials") if t != "Searching the sources…"]
    assert len(partials) >= 3, partials  # the answer appeared word by word
    assert all(a in b for a, b in zip(partials, partials[1:], strict=False))
    assert first_text.startswith(partials[-1].split(" [")[0][:40])

    # the sources panel: title, section, the quote inside a <mark> within its paragraph
    page.wait_for_selector("#qa-sources .qa-card mark", timeout=30_000)
    card = page.locator("#qa-sources .qa-card").first
    quote = card.locator("mark").inner_text()
    source = qa.source_text(PRIMARY, settings)
    assert "Kellogg" in quote and " ".join(quote.split()) in " ".join(source.split())
    assert "Outlook on Russia in 2025" in card.locator(".qa-title").inner_text()
    assert card.locator(".qa-section").inner_text().strip().startswith("§")
    context = card.locator(".qa-context").inner_text()
    assert len(context) > len(quote)  # the surrounding paragraph is shown too
    assert PRIMARY in card.locator(".qa-where").inner_text()

    # the document view shows the same place in the full document, scrolled into sight
    target = page.locator("#qa-doc mark#qa-target")
    target.wait_for(timeout=30_000)
    assert target.inner_text() == quote
    assert len(page.inner_text("#qa-doc .qa-doc-text")) > 0.9 * len(source.strip())
    page.wait_for_function(
        """() => { const box = document.querySelector('#qa-doc .qa-doc-text');
                   const m = document.querySelector('#qa-doc mark#qa-target');
                   const b = box.getBoundingClientRect(), r = m.getBoundingClientRect();
                   return r.top >= b.top - 1 && r.top <= b.bottom; }""",
        timeout=10_000,
    )

    # 2. a follow-up that only makes sense with the history
    second = ask(page, FOLLOW_UP)
    second_text = second.inner_text()
    assert "qa-abstain" not in (second.get_attribute("class") or "")
    assert "[1]" in second_text and second_text != first_text
    page.wait_for_function(
        f"""() => {{ const m = document.querySelector('#qa-sources .qa-card mark');
                     return m && m.innerText !== {quote!r}; }}""",
        timeout=30_000,
    )

    # 3. an unanswerable question abstains visibly and still shows what was searched
    third = ask(page, "What is the population of Peru?")
    assert "qa-abstain" in (third.get_attribute("class") or "")
    assert third.inner_text().lower().count("the sources do not say") == 1
    page.wait_for_selector("#qa-sources .qa-abstained .qa-passage", timeout=30_000)
    assert page.locator("#qa-sources .qa-passage").count() >= 1

    # scores appear in the sources panel when asked for
    page.get_by_text("Settings", exact=True).click()
    page.get_by_label("Show retrieval scores").check()
    page.wait_for_selector("#qa-sources .qa-score", timeout=30_000)

    # 4. an empty question is a readable message, not a spinner
    page.fill("#qa-question textarea", "")
    page.click("#qa-send")
    page.wait_for_selector("#qa-chat .qa-error", timeout=30_000)
    assert "empty" in page.inner_text("#qa-chat .qa-error")

    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 10_000
    assert not errors, errors
    page.close()


def test_reindex_button_reports_a_summary(app_url: str, browser: Any) -> None:
    page = browser.new_page()
    page.goto(app_url)
    page.wait_for_selector("#qa-question textarea", timeout=60_000)
    page.get_by_role("button", name="Re-index corpus").click()
    page.wait_for_selector("#qa-reindex .qa-summary", timeout=MODEL_WAIT)
    summary = page.inner_text("#qa-reindex .qa-summary")
    assert summary.startswith("indexed ") and " documents, " in summary
    assert "documents" in page.inner_text("#qa-header")
    page.close()
