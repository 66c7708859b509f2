"""``make review-check``: the HTML security review in a real headless browser.

Debian's Chromium (``apt-get install -y chromium poppler-utils``) renders a review at a
1,280 px wide window, takes screenshots (the top of the page, then each ``--shot`` anchor),
prints it to PDF, and measures what a reader would notice:

- the document's scroll width against the viewport's (equal: nothing scrolls sideways), and
  every table or diagram wider than the page;
- the PDF's page count and page size (``pdfinfo``);
- every table cell of the review found in the PDF's text (``pdftotext``): a column cut off
  at the page edge loses its text, so a missing cell is a clipped column (a row that breaks
  across pages prints each cell in two pieces, each of which must be there).

Exit 1 when a measure fails. Not part of ``make test``: CI has no browser. Nothing is loaded
from the network: the page is self-contained and the browser runs with its background
networking off (this machine's network refuses it anyway).

Usage: ``python -m tools.review.browser_check [cdk.out/security-review-prod.html] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

WIDTH, HEIGHT = 1280, 1000
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Measured in the page after layout; written into the DOM, which --dump-dom prints.
_MEASURE = """<script>
addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table, svg, pre, .diagram')]
    .filter(e => e.getBoundingClientRect().right > vw + 0.5 || e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.closest('section[id]') || {id: '?'}).id + ' ' + e.tagName.toLowerCase()
      + ' ' + Math.round(e.getBoundingClientRect().width) + 'px');
  const out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({viewport: vw, scrollWidth: document.documentElement.scrollWidth,
    tocLinks: document.querySelectorAll('nav a[href^="#"]').length, wide: wide});
  document.body.appendChild(out);
});
</script>"""


class CheckError(Exception):
    """A tool is missing or failed: one line for the user."""


@dataclass
class Measures:
    viewport: int
    scroll_width: int
    toc_links: int
    wide: list[str]
    pages: int
    page_size: str
    cells: int
    missing_in_pdf: list[str]

    @property
    def ok(self) -> bool:
        return self.scroll_width <= self.viewport and not self.wide and not self.missing_in_pdf


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise CheckError(f"`{name}` not found: install Debian's {package} (apt-get install -y {package})")
    return found


def _chromium(profile: Path, *args: str, timeout: int = 120) -> str:
    browser = shutil.which("chromium") or _tool("chromium-browser", "chromium")
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise CheckError(f"chromium exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return result.stdout


class _Cells(HTMLParser):
    """The text of every data cell of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._in = tag
            if tag == "td":
                self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "td":
            self.cells[-1] += data


def table_cells(page: str) -> list[str]:
    """The text of every data cell (``td``) of an HTML page."""
    parser = _Cells()
    parser.feed(page)
    return parser.cells


def _squeeze(text: str) -> str:
    """Text without white space: a cell wrapped over lines still matches."""
    return re.sub(r"\s+", "", text)


def printed(cell: str, text: str) -> bool:
    """Whether the cell's text is in the PDF's: whole, or in two pieces when its row breaks
    across pages (the first lines of every cell of the row print before the break)."""
    return cell in text or any(cell[:k] in text and cell[k:] in text for k in range(1, len(cell)))


def measure(page: Path, out: Path) -> Measures:
    """Screenshots, PDF and measures of one HTML review, written into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pdfinfo, pdftotext = _tool("pdfinfo", "poppler-utils"), _tool("pdftotext", "poppler-utils")
    with tempfile.TemporaryDirectory(prefix="review-check-") as tmp:
        profile, probe = Path(tmp) / "profile", Path(tmp) / page.name
        probe.write_text(page.read_text().replace("</body>", _MEASURE + "</body>"))
        dom = _chromium(profile, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
        found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
        if not found:
            raise CheckError("the page reported no measures (did it load?)")
        layout = json.loads(html.unescape(found.group(1)))
        pdf = out / (page.stem + ".pdf")
        _chromium(profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    text = _squeeze(
        subprocess.run([pdftotext, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    )
    cells = [c for c in (_squeeze(c) for c in table_cells(page.read_text())) if c]
    return Measures(
        viewport=layout["viewport"],
        scroll_width=layout["scrollWidth"],
        toc_links=layout["tocLinks"],
        wide=layout["wide"],
        pages=int(fields["Pages"].strip()),
        page_size=fields.get("Page size", "?").strip(),
        cells=len(cells),
        missing_in_pdf=[c for c in cells if not printed(c, text)],
    )


def screenshots(page: Path, out: Path, anchors: Sequence[str]) -> list[Path]:
    """One screenshot of the window per anchor ('' is the top of the page).

    Headless Chromium paints nothing when it scrolls to a fragment before its screenshot, so
    a copy of the page hides what comes before the anchored element instead: it is laid out
    at the same width, at the top of the window."""
    shots = []
    with tempfile.TemporaryDirectory(prefix="review-shot-") as tmp:
        for anchor in anchors:
            png = out / f"{page.stem}-{anchor or 'top'}.png"
            shown = Path(tmp) / f"{anchor or 'top'}.html"
            a = f"#{anchor}"
            hide = (
                f"<style>body > :not({a}, {a} ~ *, :has({a}), :has({a}) ~ *),"
                f" :has(> {a}) > :not({a}, {a} ~ *) {{ display: none; }}</style>"
            )
            shown.write_text(
                page.read_text().replace("</head>", hide + "</head>") if anchor else page.read_text()
            )
            _chromium(Path(tmp) / "profile", f"--screenshot={png}", shown.as_uri())
            shots.append(png)
    return shots


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.review.browser_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("page", nargs="?", default=Path("cdk.out/security-review-prod.html"), type=Path)
    parser.add_argument("--out", type=Path, default=Path("cdk.out/browser-check"))
    parser.add_argument(
        "--shot",
        action="append",
        default=[],
        help="also screenshot the page scrolled to this id (repeatable)",
    )
    args = parser.parse_args(argv)
    if not args.page.exists():
        print(f"review-check error: {args.page} does not exist: run `make report` first", file=sys.stderr)
        return 2
    page = args.page.resolve()
    try:
        result = measure(page, args.out)
        shots = screenshots(page, args.out, ["", *args.shot])
    except (CheckError, subprocess.SubprocessError) as err:
        print(f"review-check error: {err}", file=sys.stderr)
        return 2
    print(
        f"{page.name} at {WIDTH} px: scroll width {result.scroll_width} px in a {result.viewport} px viewport"
    )
    print(f"  table of contents: {result.toc_links} links")
    for element in result.wide:
        print(f"  wider than the page: {element}")
    print(f"  PDF: {result.pages} pages ({result.page_size}), {args.out / (page.stem + '.pdf')}")
    print(
        f"  table cells found in the PDF text: {result.cells - len(result.missing_in_pdf)} of {result.cells}"
    )
    for cell in result.missing_in_pdf[:10]:
        print(f"  missing in the PDF (clipped?): {cell[:100]}")
    print("  screenshots: " + ", ".join(str(s) for s in shots))
    print("review-check: " + ("pass" if result.ok else "FAIL"))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
