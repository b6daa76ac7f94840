"""Helpers every task parser shares: reading JSON-ish values out of what models actually write.

Nothing here raises on odd input; a value that cannot be read comes back as ``None``.
"""
from __future__ import annotations

import json
import re
from typing import Any

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\n?|```")


def strip_thinking(text: str) -> str:
    """Drop <think>…</think> blocks (an unclosed one runs to the end)."""
    return _THINK.sub("", text)


def clean(text: str) -> str:
    """Remove code fences and markdown bold markers, which models put around anything."""
    return _FENCE.sub("", text).replace("**", "")


def section(text: str, label: str) -> str | None:
    """Text after the *last* line-initial occurrence of ``label:`` (case-insensitive), or None."""
    matches = list(re.finditer(rf"(?im)^[ \t#>*-]*{re.escape(label)}\s*:", text))
    if not matches:
        return None
    return text[matches[-1].end():]


def json_values(text: str, opener: str) -> list:
    """Every outermost JSON value starting with ``opener`` ('[' or '{'), in order of appearance.

    Single quotes are accepted (models write Python literals) by a retry with them swapped.
    """
    decoder = json.JSONDecoder()
    values, pos = [], text.find(opener)
    while pos != -1:
        end = None
        for candidate in (text, text.replace("'", '"')):
            try:
                value, end = decoder.raw_decode(candidate, pos)
            except (ValueError, RecursionError):
                continue
            values.append(value)
            break
        pos = text.find(opener, end if end is not None else pos + 1)
    return values


def first_json(text: str, opener: str) -> Any:
    values = json_values(text, opener)
    return values[0] if values else None


def last_json(text: str, opener: str) -> Any:
    values = json_values(text, opener)
    return values[-1] if values else None
