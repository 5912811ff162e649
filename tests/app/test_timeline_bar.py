"""The replay's timeline line: each column shows the marks of the records it stands for."""

from __future__ import annotations

import random

from tui.app.widgets.timeline_bar import timeline_text


def by_record(count: int, steps, findings, position: int, width: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(cell, style) per column, found by placing every record: steps over findings, the
    current record over both."""
    width = max(width, 10)
    span = max(count - 1, 1)
    cells = [("─", "dim")] * width
    for marks, cell in ((findings, ("!", "bold red")), (steps, ("|", "bold cyan"))):
        for n in marks:
            cells[n * (width - 1) // span] = cell
    cells[position * (width - 1) // span] = ("█", "bold yellow")
    return cells


def test_each_column_shows_the_marks_of_its_records() -> None:
    rng = random.Random(11)
    for _ in range(400):
        count = rng.choice([1, 2, 9, 10, 11, 101, 1_000, 100_000])
        width = rng.choice([1, 10, 11, 79, 160, 333])
        steps = sorted(rng.sample(range(count), min(count, rng.randrange(40))))
        findings = sorted(rng.sample(range(count), min(count, rng.randrange(40))))
        position = rng.randrange(count)
        text = timeline_text(count, steps, findings, position, width)
        cells = [(text.plain[s.start], str(s.style)) for s in text.spans]
        assert cells == by_record(count, steps, findings, position, width)
