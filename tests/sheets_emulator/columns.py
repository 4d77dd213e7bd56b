"""Where a column's things go when a person moves columns (Google's moveDimension).

The discovery document (sheets.v4.json, MoveDimensionRequest.destinationIndex): "The
zero-based start index of where to move the source data to, based on the coordinates
*before* the source data is removed from the grid. Existing data will be shifted down or
right [...] to make room for the moved dimensions. The source dimensions are removed from
the grid, so the data may end up in a different index than specified." Its example: `0 1 2
3 4`, source [1, 3), destination 4, gives `0 3 1 2 4`.

So a move is a removal of the source columns and their insertion at the destination (less
the removed ones when the destination is right of them). Cells, notes and widths go with
their column. A range (a rule's, a protection's, a dropdown's...) inside the moved columns
goes with them; any other range is shifted as a deletion then an insertion would shift it
(what Google does with a range the move cuts through is not documented: this is the
emulator's reading). A destination inside the source moves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

Cell = TypeVar("Cell")


@dataclass(frozen=True)
class ColumnMove:
    """Columns [start, end) moved to `destination` (coordinates before the move)."""

    start: int
    end: int
    destination: int

    @property
    def width(self) -> int:
        return self.end - self.start

    @property
    def lands_at(self) -> int:
        """Where the first moved column is after the move."""
        if self.destination > self.start:
            return self.destination - self.width
        return self.destination

    def moves_nothing(self) -> bool:
        return self.start <= self.destination <= self.end

    def column(self, col: int) -> int:
        """Where a column is after the move."""
        if self.start <= col < self.end:
            return col - self.start + self.lands_at
        after_removal = col - self.width if col >= self.end else col
        return after_removal + self.width if after_removal >= self.lands_at else after_removal

    def span(self, start: int, end: int | None) -> tuple[int, int | None]:
        """Where a range's columns [start, end) are after the move (end None: unbounded)."""
        if self.start <= start and end is not None and end <= self.end:
            return self.column(start), self.column(end - 1) + 1

        def removed(edge: int) -> int:
            return edge if edge <= self.start else max(self.start, edge - self.width)

        new_start = removed(start)
        new_start += self.width if new_start >= self.lands_at else 0
        if end is None:
            return new_start, None
        new_end = removed(end)
        new_end += self.width if new_end > self.lands_at else 0
        return new_start, new_end

    def line(self, cells: list[Cell], empty: Cell) -> list[Cell]:
        """One row's cells after the move (trailing empty cells left out)."""
        if len(cells) <= min(self.start, self.destination):
            return cells
        padded = cells + [empty] * (max(self.end, self.destination) - len(cells))
        block = padded[self.start : self.end]
        rest = padded[: self.start] + padded[self.end :]
        moved = rest[: self.lands_at] + block + rest[self.lands_at :]
        while moved and moved[-1] == empty and len(moved) > len(cells):
            moved.pop()
        return moved
