"""What a review is made of, independent of how it is rendered: sections of text and tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    empty: str = "None."


# A paragraph (``### `` starts a sub-heading; `backticks` mark code) or a table.
Block = str | Table


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
