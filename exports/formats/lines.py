"""Physical lines of decoded text, for the line-based readers (CSV, TSV, JSON Lines)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import repeat
from typing import Any

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def iter_physical_lines(texts: Iterator[str], *, max_length: int) -> Iterator[tuple]:
    """Yield ``(line, terminator, quotes)`` for each physical line.

    ``line`` is None when the line is longer than ``max_length``: it is then not kept, and
    ``quotes`` says how many ``"`` it held (so a CSV reader can still find the record's end).
    A ``\\r`` at the end of a chunk is held back in case ``\\n`` starts the next one.
    """
    partial: list[str] = []
    partial_len = 0
    partial_quotes = 0
    overflow = False
    held_cr = False
    for text in texts:
        if held_cr:
            text = "\r" + text
        held_cr = text.endswith("\r")
        if held_cr:
            text = text[:-1]
        if "\r" in text:
            parts = _LINE_BREAK.split(text)
            lines = parts[0::2]
            terms: Any = parts[1::2]
        else:
            lines = text.split("\n")
            terms = repeat("\n")
        last = lines.pop()
        if lines and (partial or overflow):
            first = lines[0]
            if overflow:
                lines[0] = None
                partial_quotes += first.count('"')
            else:
                lines[0] = "".join(partial) + first
        for line, term in zip(lines, terms, strict=False):
            if line is None:
                yield None, term, partial_quotes
            elif len(line) > max_length:
                yield None, term, line.count('"')
            else:
                yield line, term, 0
        if lines:
            partial, partial_len, partial_quotes, overflow = [], 0, 0, False
        if last:
            partial_len += len(last)
            if overflow:
                partial_quotes += last.count('"')
            elif partial_len > max_length:
                overflow = True
                partial_quotes = sum(p.count('"') for p in partial) + last.count('"')
                partial = []
            else:
                partial.append(last)
    if held_cr or partial or overflow:
        term = "\r" if held_cr else ""
        if overflow:
            yield None, term, partial_quotes
        else:
            yield "".join(partial), term, 0
