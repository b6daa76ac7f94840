"""Helpers every task parser shares: reading JSON-ish values out of what models actually write.

Nothing here raises on odd input; a value that cannot be read comes back as ``None``.
"""
from __future__ import annotations

import json
import re
from typing import Any

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\n?|```")
_DECODER = json.JSONDecoder()  # keeps no state between calls, as json.loads's shared one


def strip_thinking(text: str) -> str:
    """Drop <think>…</think> blocks (an unclosed one runs to the end)."""
    return _THINK.sub("", text) if "<" in text else text  # the scan is costly; most texts have no tag


def clean(text: str) -> str:
    """Remove code fences and markdown bold markers, which models put around anything."""
    # One-character checks first: they are several times cheaper than looking for the markers.
    if "`" in text:
        text = _FENCE.sub("", text)
    return text.replace("**", "") if "*" in text else text


def section(text: str, label: str) -> str | None:
    """Text after the *last* line-initial occurrence of ``label:`` (case-insensitive), or None."""
    matches = list(re.finditer(rf"(?im)^[ \t#>*-]*{re.escape(label)}\s*:", text))
    if not matches:
        return None
    return text[matches[-1].end():]


def json_spans(text: str, opener: str, window: int = 4000, max_opens: int = 256) -> list[tuple[int, Any]]:
    """(position, value) for every outermost JSON value starting with ``opener`` ('[' or '{').

    Single quotes are accepted (models write Python literals) by a second reading with them swapped.
    Each candidate is read from a bounded window holding at most ``max_opens`` openers, which keeps
    degenerate output ("[[[[…" or endless open lists) linear to scan.
    """
    found, pos = [], text.find(opener)
    while pos != -1:
        read = json_at(text, pos, opener, window, max_opens)
        if read is not None:
            found.append((pos, read[1]))
        pos = text.find(opener, read[0] if read is not None else pos + 1)
    return found


def json_at(text: str, pos: int, opener: str, window: int = 4000, max_opens: int = 256) -> tuple[int, Any] | None:
    """(end, value) of the JSON value json_spans reads at ``pos``, or None if none reads there."""
    parts = text[pos: pos + window].split(opener, max_opens + 1)
    candidate = opener.join(parts[: max_opens + 1])
    for reading in (candidate, candidate.replace("'", '"')) if "'" in candidate else (candidate,):
        try:
            value, end = _DECODER.raw_decode(reading)
        except (ValueError, RecursionError):
            continue
        return pos + end, value
    return None


def json_values(text: str, opener: str) -> list:
    """The values of json_spans, in order of appearance."""
    return [value for _, value in json_spans(text, opener)]


def first_json(text: str, opener: str) -> Any:
    values = json_values(text, opener)
    return values[0] if values else None


def last_json(text: str, opener: str) -> Any:
    values = json_values(text, opener)
    return values[-1] if values else None
