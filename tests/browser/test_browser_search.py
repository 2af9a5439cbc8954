"""The book's search box finds the right chapter, in English and in Chinese.

The expected results are data (search_terms.toml), so the checks grow with the book.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from book_browser import source

TERMS = tomllib.loads((Path(__file__).with_name("search_terms.toml"))
                      .read_text(encoding="utf-8"))["search"]


def search(reader, lang: str, query: str) -> list[str]:
    """Type ``query`` into the search box of the edition's home page; return the results."""
    assert reader.open(f"{lang}/index.html", math=False) == 200
    reader.page.locator(".search-button__button").filter(visible=True).first.click()
    box = reader.page.locator("#pst-search-dialog input[name=q]")
    box.wait_for(state="visible")
    box.fill(query)
    with reader.page.expect_navigation():
        box.press("Enter")
    assert reader.url_path() == f"{lang}/search.html"
    # searchtools.js writes the summary when the search has finished
    reader.page.wait_for_function(
        "() => { const s = document.querySelector('#search-results p.search-summary');"
        "        return s && s.innerText.trim().length > 0; }", timeout=30_000)
    hrefs = reader.page.eval_on_selector_all(
        "#search-results ul.search li > a", "links => links.map(a => a.getAttribute('href'))")
    return [h.split("#")[0].split("?")[0].removesuffix(".html") for h in hrefs]


@pytest.mark.parametrize("entry", TERMS, ids=[f"{t['lang']}-{t['query']}" for t in TERMS])
def test_search_finds_the_chapter(reader, entry):
    lang, query, page = entry["lang"], entry["query"], entry["page"]
    text = source(f"{lang}/{page}").read_text(encoding="utf-8")
    if query.lower() not in text.lower():
        pytest.skip(f"{lang}/{page} does not mention {query!r} yet")
    results = search(reader, lang, query)
    top = entry.get("top", 3)
    assert page in results[:top], \
        f"searching {query!r} in the {lang} edition gives {results[:10]}, not {page} in the first {top}"
    assert not reader.console.errors, reader.console.errors
