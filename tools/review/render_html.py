"""A review as one self-contained HTML page: inline CSS, the diagram inline, nothing to load.

Rendered by Jinja2 from ``tools/review/review.html.j2`` with autoescape on: every text of the
review is escaped, and only ``inline`` (code spans, line breaks, break points) and the
diagram (built by ``review.diagram``, which escapes its labels) are marked safe.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from tools.review.document import Document, Figure, Heading, Table, cell, outline

# A token this long with no space gets break points after its separators and between its
# camelCase words, so that construct paths, ARNs and rule ids wrap at a / or : (or before a
# capital) rather than widen their column.
_LONG = 24
_TOKEN = re.compile(r"\S{" + str(_LONG) + ",}")
_SEPARATORS = re.compile(r"([/:.,_\-\]\[=&]|(?<=[a-z])(?=[A-Z]))")

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _breakable(text: str) -> str:
    """Escaped ``text`` with ``<wbr>`` after the separators of its long tokens."""
    out, last = [], 0
    for token in _TOKEN.finditer(text):
        out.append(str(escape(text[last : token.start()])))
        # Separators (and the empty match between camelCase words) at the odd indexes.
        pieces = _SEPARATORS.split(token.group())
        out += [str(escape(p)) + ("<wbr>" if i % 2 else "") for i, p in enumerate(pieces)]
        last = token.end()
    out.append(str(escape(text[last:])))
    return "".join(out)


def inline(text: str) -> Markup:
    """Escape, turn `code` spans into <code>, newlines into <br>, long tokens breakable."""
    parts = text.split("`")
    html = "".join(f"<code>{_breakable(p)}</code>" if i % 2 else _breakable(p) for i, p in enumerate(parts))
    return Markup(html.replace("\n", "<br>"))


def _cell(text: str) -> Markup:
    """A table cell: several lines become a list (each wrapped line hangs under its own)."""
    lines = cell(text).split("\n")
    if len(lines) == 1:
        return inline(lines[0])
    return Markup('<ul class="lines">' + "".join(f"<li>{inline(line)}</li>" for line in lines) + "</ul>")


_ENV.filters["inline"] = inline
_ENV.filters["cell"] = _cell
_ENV.tests["table"] = lambda block: isinstance(block, Table)
_ENV.tests["heading"] = lambda block: isinstance(block, Heading)
_ENV.tests["figure"] = lambda block: isinstance(block, Figure)


def _column(header: str) -> str:
    """The CSS class of a column (``col-reason``), for the widths of prose columns."""
    return "col-" + (re.sub(r"[^a-z0-9]+", "-", header.lower()).strip("-") or "x")


_ENV.filters["column"] = _column


def to_html(review: Document) -> str:
    template = _ENV.get_template("review.html.j2")
    return template.render(env=review.env, parts=outline(review.sections), svg=Markup(review.svg))
