"""The HTML security review reads at 1,280 px and in print: structure, offline (no browser).

What a browser shows is measured by ``make review-check`` (headless Chromium, not in CI); these
tests keep what makes it readable: the contents link to every section and stack, no cell is
empty or shows markup, long tokens can wrap, and the CSS rules that keep tables inside the
page and the diagram on one printed page are there.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.environments import ENVIRONMENTS
from tools.review import browser_check, report
from tools.review.document import Figure, Heading, Section, Table, outline
from tools.review.render_html import to_html
from tools.review.render_markdown import to_markdown


@dataclass
class Page(HTMLParser):
    """What the tests read of a page: ids, links, cells, headings and the style sheet."""

    ids: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    toc: list[tuple[str, str]] = field(default_factory=list)  # (href, text) inside <nav>
    cells: list[tuple[str, str]] = field(default_factory=list)  # (th|td, text)
    headings: list[tuple[str, str]] = field(default_factory=list)  # (h2|h3, id)
    style: str = ""
    _open: list[str] = field(default_factory=list)
    _section: str = ""

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "section":
            self._section = str(found.get("id") or "")
        if tag in ("h2", "h3") and "nav" not in self._open:
            # A section's h2 is anchored by the section around it.
            self.headings.append((tag, self._section if tag == "h2" else str(found.get("id") or "")))
        if tag == "a" and str(found.get("href", "")).startswith("#"):
            self.links.append(str(found["href"])[1:])
            if "nav" in self._open:
                self.toc.append((str(found["href"])[1:], ""))
        if tag in ("th", "td"):
            self.cells.append((tag, ""))
        if tag not in ("wbr", "br", "meta"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if "style" in self._open:
            self.style += data
        if "th" in self._open or "td" in self._open:
            kind, text = self.cells[-1]
            self.cells[-1] = (kind, text + data)
        if "a" in self._open and "nav" in self._open and self.toc:
            href, text = self.toc[-1]
            self.toc[-1] = (href, text + data)


def read(page: str) -> Page:
    parsed = Page()
    parsed.feed(page)
    return parsed


def review_html(report_dir: Path, env: str) -> str:
    return (report_dir / f"security-review-{env}.html").read_text()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_contents_link_every_section_and_stack(
    written: dict[str, report.Review], report_dir: Path, env: str
) -> None:
    page = read(review_html(report_dir, env))
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    assert set(page.links) <= set(page.ids), "every link resolves to an id"
    # One contents entry per section (h2) and sub-heading (h3), in order.
    assert [href for href, _ in page.toc] == [anchor for _, anchor in page.headings]
    level = {anchor: tag for tag, anchor in page.headings}
    sections = [text for href, text in page.toc if level[href] == "h2"]
    assert sections == [s.title for s in written[env].sections]
    assert {"Overview", "Acknowledgements", "IAM at a glance", "Data reach", "Architecture"} <= set(sections)
    # A link per stack: each stack's acknowledgements (when it has any) and IAM statements.
    titles = dict(page.toc)
    for stack in written[env].stacks:
        assert f"acknowledgements-{stack.short.lower()}-stack" in titles or not any(
            a.construct.startswith(f"{stack.stack}/") for a in written[env].acknowledgements
        ), stack.short
        assert f"iam-at-a-glance-{stack.short.lower()}-stack" in titles or not any(
            kind == "AWS::IAM::Role" for kind in (r.get("Type") for r in stack.resources.values())
        ), stack.short


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_empty_cell_and_no_literal_markup(report_dir: Path, env: str) -> None:
    page = read(review_html(report_dir, env))
    assert page.cells
    for kind, text in page.cells:
        assert text.strip(), f"an empty {kind}"
        assert "`" not in text, f"a literal backtick in a {kind}: {text[:80]}"
        assert not re.search(r"<(br|code|wbr)>", text), f"literal markup in a {kind}: {text[:80]}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_long_tokens_can_wrap(report_dir: Path, env: str) -> None:
    """A construct path or ARN in a cell breaks at its separators: no run of more than 40
    characters without a break point widens its column."""
    for cell in re.findall(r"<td>(.*?)</td>", review_html(report_dir, env), re.S):
        breaks = re.sub(r"<wbr>|<br>|</li>", " ", cell)  # where a line may break
        text = html.unescape(re.sub(r"<[^>]+>", "", breaks))
        longest = max((len(word) for word in text.split()), default=0)
        assert longest <= 40, text[:120]


def test_width_and_print_rules_are_in_the_style_sheet(report_dir: Path) -> None:
    style = re.sub(r"\s+", " ", read(review_html(report_dir, ENVIRONMENTS[0])).style)
    for rule in (
        r"table \{[^}]*width: 100%",
        r"td \{[^}]*overflow-wrap: break-word",
        r"th\.col-reason[^{]*\{[^}]*width: \d+%",
        r"\.diagram svg \{[^}]*max-width: 100%[^}]*height: auto",
        r"@page \{[^}]*size: A4 landscape",
        r"@media print \{.*thead \{ display: table-header-group",
        r"@media print \{.*\.diagram svg \{[^}]*max-height: \d+mm",
    ):
        assert re.search(rule, style), rule


def test_text_is_escaped_and_both_renderings_share_the_contents() -> None:
    """Autoescape: a template's text cannot inject markup; the Markdown and the HTML have
    the same contents and anchors (one document model, two renderers)."""

    @dataclass
    class Doc:
        env: str
        sections: list[Section]
        svg: str = "<svg xmlns='http://www.w3.org/2000/svg'/>"

    hostile = "<script>alert(1)</script> & `<b>code</b>`"
    doc = Doc(
        "x<i>",
        [
            Section("One <b>", [hostile, Heading("Sub <i>"), Table(["h<"], [[hostile], [""]])]),
            Section("Two", [Heading("Sub <i>"), Figure("the diagram")]),
        ],
    )
    page = to_html(doc)
    assert "<script>" not in page
    assert "<b>" not in page
    assert "<i>" not in page
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in page
    assert "<svg xmlns='http://www.w3.org/2000/svg'/>" in page
    parsed = read(page)
    assert ("td", "—") in parsed.cells, "an empty cell reads as a dash"
    markdown = to_markdown(doc, "a.svg")
    anchors = [(e.text, e.anchor) for p in outline(doc.sections) for e in [p.entry, *p.headings]]
    assert anchors == [
        ("One <b>", "one-b"),
        ("Sub <i>", "one-b-sub-i"),
        ("Two", "two"),
        ("Sub <i>", "two-sub-i"),
    ]
    for text, anchor in anchors:
        assert f"[{text}](#{anchor})" in markdown
        assert f'<a id="{anchor}"></a>' in markdown
    assert [href for href, _ in parsed.toc] == [anchor for _, anchor in anchors]
    assert "![the diagram](a.svg)" in markdown


def test_the_browser_check_finds_a_clipped_cell_in_the_pdf_text() -> None:
    """``make review-check`` (not in CI) reads the PDF's text: a cell whose row breaks across
    pages prints in two pieces and counts as printed; a cell cut off at the page edge does not."""
    page = "<table><tr><th>h</th><td>first cell</td><td>second <code>x</code> cell</td></tr></table>"
    assert browser_check.table_cells(page) == ["first cell", "second x cell"]
    split = "firstsecond" + "cell" + "xcell"  # both rows' first lines, then the rest of each
    assert browser_check.printed("firstcell", split)
    assert browser_check.printed("secondxcell", split)
    assert not browser_check.printed("secondxcellwiderthanthepage", split)
