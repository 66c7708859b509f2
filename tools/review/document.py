"""What a review is made of, independent of how it is rendered: sections of text and tables.

Text (paragraphs and table cells) may mark code with `backticks` and break a cell's lines
with a newline; both renderers honour both. An empty cell reads as ``EMPTY_CELL``. The
outline (``outline``) gives every section and sub-heading its anchor, so the Markdown and
the HTML share one table of contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

EMPTY_CELL = "—"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    empty: str = "None."


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section (listed in the table of contents)."""

    text: str


@dataclass(frozen=True)
class Figure:
    """The review's architecture diagram: inline in HTML, an image link in Markdown."""

    caption: str


# A paragraph, a sub-heading, a table or the diagram.
Block = str | Heading | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


class Document(Protocol):
    """What the renderers need of a review: its environment, its sections, its diagram."""

    @property
    def env(self) -> str: ...

    @property
    def sections(self) -> list[Section]: ...

    @property
    def svg(self) -> str: ...


@dataclass(frozen=True)
class Entry:
    """A section (level 2) or a sub-heading (level 3) and its anchor in the document."""

    level: int
    text: str
    anchor: str


@dataclass
class Part:
    """A section as the renderers lay it out: its entry, its sub-headings' entries, and each
    block with the entry it starts (``None`` for anything but a sub-heading)."""

    entry: Entry
    headings: list[Entry]
    blocks: list[tuple[Block, Entry | None]]


def slug(text: str) -> str:
    """``Data retention at a glance`` -> ``data-retention-at-a-glance``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def outline(sections: list[Section]) -> list[Part]:
    """Every section and sub-heading with an anchor unique in the document.

    A sub-heading's anchor starts with its section's (``iam-at-a-glance-service-stack``), so
    the same sub-heading in two sections (``Service stack``) gets two anchors."""
    seen: set[str] = set()

    def unique(base: str) -> str:
        anchor, n = base, 2
        while anchor in seen:
            anchor, n = f"{base}-{n}", n + 1
        seen.add(anchor)
        return anchor

    parts = []
    for section in sections:
        top = Entry(2, section.title, unique(slug(section.title)))
        part = Part(top, [], [])
        for block in section.blocks:
            entry = None
            if isinstance(block, Heading):
                entry = Entry(3, block.text, unique(f"{top.anchor}-{slug(block.text)}"))
                part.headings.append(entry)
            part.blocks.append((block, entry))
        parts.append(part)
    return parts


def cell(text: str) -> str:
    """A table cell as shown: empty reads as ``EMPTY_CELL``."""
    return text if text.strip() else EMPTY_CELL
