"""The 9x9 sudoku task: p* is the given grid, the answer any complete valid grid keeping every given.

Most of this module is the response reader. Models write grids in many shapes (JSON with "-",
".", 0 or null for blanks, compact rows like "53..7....", spaced rows with box separators, markdown
tables, LaTeX matrices), so a grid is looked for two ways, as JSON values and as runs of lines that
each hold nine cells, and the two candidate lists are merged by position in the text.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

import datasets
import numpy as np
from PIL import Image

from vlmdiag.generators.sudoku import SudokuConfig, make_puzzle
from vlmdiag.parsing import clean, json_spans, strip_thinking
from vlmdiag.renderers.sudoku import render_sudoku
from vlmdiag.tasks.base import ANSWER, PERCEPTION, REASONING, Parsed, Sample, Task, Trace
from vlmdiag.traces.sudoku import format_grid, sudoku_trace

Grid = list[list[int]]
DIGITS = frozenset(range(1, 10))

_RULES = (
    "Fill in the empty cells so that every row, every column and every 3x3 box contains each of "
    "the digits 1-9 exactly once."
)
_GRID_FORMAT = 'a 9x9 JSON list of rows, with integers 1-9 for filled cells and "-" for empty cells'
_ANSWER_STEP = (
    f'Finally write a line "{ANSWER}:" and under it give the completed grid as a 9x9 JSON list of '
    "rows of integers."
)


class SudokuTask(Task):
    name = "sudoku"
    config_cls = SudokuConfig
    meta_features: ClassVar[dict] = {
        "clues": datasets.Value("int32"),
        "difficulty": datasets.Value("string"),
        "techniques": datasets.Value("string"),
        "guesses": datasets.Value("int32"),
        "style_preset": datasets.Value("string"),
        "style": datasets.Value("string"),
        "image_size": datasets.Value("int32"),
    }
    # Clue counts span dozens of values; difficulty already summarises how hard a puzzle is.
    breakdown_columns = ("difficulty", "style_preset")

    def sample(self, config: SudokuConfig, rng: np.random.Generator) -> Sample:
        return make_puzzle(config, rng)

    def render(self, sample: Sample, config: SudokuConfig, rng: np.random.Generator) -> tuple[Image.Image, dict]:
        return render_sudoku(sample.problem, config, rng)

    def trace(self, problem: Grid) -> Trace:
        return sudoku_trace(problem)

    def perception_text(self, problem: Grid) -> str:
        return format_grid(problem)

    def prompt(self, problem: Grid) -> str:
        return (
            f"The image shows a 9x9 sudoku puzzle. {_RULES}\n\n"
            "Write your response in three parts.\n"
            f'First write a line "{PERCEPTION}:" and under it describe the grid as {_GRID_FORMAT}.\n'
            f'Then write a line "{REASONING}:" and solve the puzzle step by step.\n'
            f"{_ANSWER_STEP}"
        )

    def counterfactual_prompt(self, problem: Grid) -> str:
        return (
            f"Here is a 9x9 sudoku puzzle, written as {_GRID_FORMAT}:\n\n"
            f"{format_grid(problem)}\n\n{_RULES}\n\n"
            "Write your response in two parts.\n"
            f'First write a line "{REASONING}:" and solve the puzzle step by step.\n'
            f"{_ANSWER_STEP}"
        )

    def parse(self, response: str) -> Parsed:
        text = clean(strip_thinking(response)) if isinstance(response, str) else ""
        perception, perception_error = _read_perception(text)
        answer, answer_error = _read_answer(text)
        return Parsed(perception=perception, answer=answer, perception_error=perception_error, answer_error=answer_error)

    def verify(self, problem: Grid, answer: Any) -> bool:
        if not _is_grid(answer, DIGITS):
            return False
        kept = all(p == 0 or p == a for prow, arow in zip(problem, answer) for p, a in zip(prow, arow))
        return kept and all(set(unit) == DIGITS for unit in _units(answer))

    def score_perception(self, problem: Grid, perception: Any) -> dict[str, float]:
        if not _is_grid(perception, DIGITS | {0}):
            return {"exact": 0.0, "cell_accuracy": 0.0, "given_as_blank": 0, "blank_as_given": 0, "wrong_digit": 0}
        pairs = [(p, q) for prow, qrow in zip(problem, perception) for p, q in zip(prow, qrow)]
        right = sum(p == q for p, q in pairs)
        return {
            "exact": float(right == 81),
            "cell_accuracy": right / 81,
            "given_as_blank": sum(p != 0 and q == 0 for p, q in pairs),
            "blank_as_given": sum(p == 0 and q != 0 for p, q in pairs),
            "wrong_digit": sum(p != 0 and q != 0 and p != q for p, q in pairs),
        }


def _is_grid(value: Any, allowed: frozenset) -> bool:
    """A 9x9 list of ints (not bools) drawn from ``allowed``."""
    return (
        isinstance(value, (list, tuple)) and len(value) == 9
        and all(isinstance(row, (list, tuple)) and len(row) == 9 for row in value)
        and all(type(v) is int and v in allowed for row in value for v in row)
    )


def _units(grid: Grid):
    yield from grid
    yield from zip(*grid)
    for br in range(0, 9, 3):
        for bc in range(0, 9, 3):
            yield [grid[r][c] for r in range(br, br + 3) for c in range(bc, bc + 3)]


# -- finding the parts of a response ---------------------------------------------------------------

def _label(name: str, prefix: str = "") -> re.Pattern:
    # A label starts a line (after markdown decoration) and ends with a colon or the line itself.
    return re.compile(rf"(?im)^[ \t#>*-]*{prefix}{name}[ \t]*(?::|$)")


_PERCEPTION_LABEL = _label(PERCEPTION)
_REASONING_LABEL = _label(REASONING)
_ANSWER_LABEL = _label(ANSWER, prefix=r"(?:final[ \t]+)?")


def _read_perception(text: str) -> tuple[Grid | None, str | None]:
    """The first grid of the Perception section, or else of the text before the answer."""
    answers = list(_ANSWER_LABEL.finditer(text))
    head = _PERCEPTION_LABEL.search(text)
    if head is None:
        region = text[: answers[-1].start()] if answers else text
        return _pick(region, first=True, part="perception")
    ends = [m.start() for m in (_REASONING_LABEL.search(text, head.end()), _ANSWER_LABEL.search(text, head.end())) if m]
    return _pick(text[head.end(): min(ends, default=len(text))], first=True, part="perception")


def _read_answer(text: str) -> tuple[Grid | None, str | None]:
    """The first grid after the last Answer label, or else the last grid of the whole text."""
    answers = list(_ANSWER_LABEL.finditer(text))
    if answers:
        return _pick(text[answers[-1].end():], first=True, part="answer")
    return _pick(text, first=False, part="answer")


def _pick(region: str, first: bool, part: str) -> tuple[Grid | None, str | None]:
    found, most_rows = _line_grids(region)
    found += _json_grids(region)
    if not found:
        if 0 < most_rows < 9:
            return None, f"{part}: found {most_rows} rows, need 9"
        return None, f"{part}: no 9x9 grid found"
    found.sort(key=lambda item: item[0])
    return (found[0] if first else found[-1])[1], None


# -- grids written as JSON -------------------------------------------------------------------------

_JSON_LISTS = 16
_BLANK_STRINGS = frozenset({"", "-", ".", "_", "0", "*", "?", "x", "null", "none"})


def _json_grids(text: str) -> list[tuple[int, Grid]]:
    """(position, grid) for every outermost JSON list in ``text`` that reads as a 9x9 grid."""
    # A 9x9 grid has ten lists at most, however spaced; a few spare for [[[...]]] wrappers.
    spans = json_spans(text, "[", max_opens=_JSON_LISTS)
    return [(pos, grid) for pos, value in spans if (grid := _json_grid(value)) is not None]


def _json_grid(value: Any) -> Grid | None:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]  # [[[...9 rows...]]]
    if not isinstance(value, list):
        return None
    if len(value) == 81 and not any(isinstance(v, list) for v in value):
        value = [value[i:i + 9] for i in range(0, 81, 9)]
    if len(value) != 9:
        return None
    rows = [_json_row(row) for row in value]
    return None if any(row is None for row in rows) else rows


def _json_row(row: Any) -> list[int] | None:
    if isinstance(row, str):
        cells = _tokens(row)
        return cells if len(cells) == 9 else None
    if not isinstance(row, list) or len(row) != 9:
        return None
    cells = [_json_cell(v) for v in row]
    return None if None in cells else cells


def _json_cell(v: Any) -> int | None:
    if v is None:
        return 0
    if isinstance(v, bool):
        return None
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return int(v) if 0 <= v <= 9 else None
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _BLANK_STRINGS:
            return 0
        if len(s) == 1 and s in "123456789":
            return int(s)
    return None


# -- grids written as lines of cells ---------------------------------------------------------------

_LATEX = re.compile(r"\\[a-zA-Z]+(?:\{[a-zA-Z*]*\})?|\\\\")
_EMPTY_WORD = re.compile(r"\bnull\b|\bNone\b|\"\"|''")
_ROW_LABEL = re.compile(r"^\s*(?:row|r)\s*\d\s*[:.)=|-]?", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:\d\s*[.):|]|[-*+•])\s")
_CELL = re.compile(r"[0-9]|[-._*?]")
_RULE = re.compile(r"--|__|==|[+~]")
_HEADER = list(range(1, 10))
# What a line is to a grid. A digit-free line like "---------" may be a rule between boxes or a
# row of nine blanks; which one is settled by counting rows once the whole grid is seen.
ROW, GRID, RULE, BLANK_ROW_OR_RULE, OTHER = range(5)


def _tokens(line: str) -> list[int]:
    """The cells a line spells, in order: digits, blanks as 0."""
    return [int(t) if t.isdigit() else 0 for t in _CELL.findall(line)]


def _classify(line: str) -> tuple[int, list[int]]:
    """What kind of line this is, with its cells (9 for a row, 81 for a whole grid on one line)."""
    line = _ROW_LABEL.sub("", _EMPTY_WORD.sub(".", _LATEX.sub(" ", line)))
    if re.search(r"[A-Za-z]", line):
        return OTHER, []
    table = _table_cells(line)
    if table is not None:
        return ROW, table
    cells = _tokens(line)
    if len(cells) not in (9, 81) and _LIST_MARK.match(line):
        cells = _tokens(_LIST_MARK.sub("", line, count=1))
    kind = {9: ROW, 81: GRID}.get(len(cells), OTHER)
    if not re.search(r"[0-9]", line):
        ruled = _RULE.search(line)
        if ruled and kind == ROW and not re.search(r"[+=~]", line):
            return BLANK_ROW_OR_RULE, cells
        if ruled or not cells:
            return RULE, cells
    return kind, cells


def _table_cells(line: str) -> list[int] | None:
    """A markdown table row may leave empty cells empty: | 5 | 3 |   |   | 7 | ..."""
    fields = line.strip().strip("|").split("|")
    if len(fields) != 9:
        return None
    cells = [_tokens(f) for f in fields]
    if any(len(c) > 1 for c in cells):
        return None
    return [c[0] if c else 0 for c in cells]


def _line_grids(text: str) -> tuple[list[tuple[int, Grid]], int]:
    """(position, grid) for every run of nine-cell lines, and the most rows any run had."""
    found, run, most, pos = [], [], 0, 0
    for line in text.splitlines(keepends=True):
        kind, cells = _classify(line)
        if kind in (ROW, BLANK_ROW_OR_RULE):
            run.append((pos, cells, kind == ROW))
        elif kind != RULE:
            found += _run_grids(run)
            most, run = max(most, sum(row for _, _, row in run)), []
            if kind == GRID:
                found.append((pos, [cells[i:i + 9] for i in range(0, 81, 9)]))
        pos += len(line)
    found += _run_grids(run)
    return found, max(most, sum(row for _, _, row in run))


def _run_grids(run: list[tuple[int, list[int], bool]]) -> list[tuple[int, Grid]]:
    rows = [(pos, cells) for pos, cells, row in run if row]
    if (len(rows) % 9 or not rows) and len(run) % 9 == 0:
        rows = [(pos, cells) for pos, cells, _ in run]  # the dashed lines were rows of blanks
    if len(rows) % 9 and rows and rows[0][1] == _HEADER:
        rows = rows[1:]  # a "1 2 3 ... 9" column header above the rows
    return [(rows[i][0], [cells for _, cells in rows[i:i + 9]]) for i in range(0, len(rows) - 8, 9)]
