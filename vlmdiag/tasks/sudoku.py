"""The 9x9 sudoku task: p* is the given grid, the answer any complete valid grid keeping every given.

Most of this module is the response reader. Models write grids in many shapes (JSON with "-",
".", 0 or null for blanks, compact rows like "53..7....", spaced rows with box separators, markdown
tables, LaTeX matrices), so a grid is looked for two ways, as JSON values and as runs of lines that
each hold nine cells, and the two candidate lists are merged by position in the text.
"""
from __future__ import annotations

import re
from itertools import chain, compress
from operator import itemgetter
from typing import Any, ClassVar

import datasets
import numpy as np
from PIL import Image

from vlmdiag.generators.sudoku import SudokuConfig, make_puzzle
from vlmdiag.parsing import clean, json_at, strip_thinking
from vlmdiag.renderers.sudoku import render_sudoku
from vlmdiag.tasks.base import ANSWER, PERCEPTION, REASONING, Parsed, Sample, Task, Trace
from vlmdiag.traces.sudoku import format_grid, sudoku_trace

Grid = list[list[int]]
DIGITS = frozenset(range(1, 10))
_CELL_VALUES = DIGITS | {0}

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
        lowered = text.lower()
        answers = _labels(_ANSWER_LABEL, "answer", text, lowered)
        perception, perception_error = _read_perception(text, lowered, answers)
        answer, answer_error = _read_answer(text, answers)
        return Parsed(perception=perception, answer=answer, perception_error=perception_error, answer_error=answer_error)

    def verify(self, problem: Grid, answer: Any) -> bool:
        cells = _cells(answer, DIGITS)
        if cells is None:
            return False
        givens = _cells(problem, _CELL_VALUES)
        kept = list(compress(cells, givens)) == list(compress(givens, givens))  # answer cells under the givens
        return kept and all(len(set(unit(cells))) == 9 for unit in _UNITS)

    def problem_from_perception(self, perception: Grid, problem: Grid) -> Grid:
        return perception  # a transcribed grid is a puzzle as it stands

    def score_perception(self, problem: Grid, perception: Any) -> dict[str, float]:
        seen = _cells(perception, _CELL_VALUES)
        if seen is None:
            return {"exact": 0.0, "cell_accuracy": 0.0, "given_as_blank": 0, "blank_as_given": 0, "wrong_digit": 0}
        truth = _cells(problem, _CELL_VALUES)
        if seen == truth:  # the usual case for a good reader, settled without a loop
            return {"exact": 1.0, "cell_accuracy": 1.0, "given_as_blank": 0, "blank_as_given": 0, "wrong_digit": 0}
        right = given_as_blank = blank_as_given = wrong = 0
        for p, q in zip(truth, seen):
            if p == q:
                right += 1
            elif q == 0:
                given_as_blank += 1
            elif p == 0:
                blank_as_given += 1
            else:
                wrong += 1
        return {
            "exact": float(right == 81),
            "cell_accuracy": right / 81,
            "given_as_blank": given_as_blank,
            "blank_as_given": blank_as_given,
            "wrong_digit": wrong,
        }


def _cells(value: Any, allowed: frozenset) -> list[int] | None:
    """The 81 cells of a 9x9 list of ints (not bools) drawn from ``allowed``, row by row; else None."""
    if not isinstance(value, (list, tuple)) or len(value) != 9:
        return None
    if set(map(type, value)) == {list} and set(map(len, value)) == {9}:  # plain rows: no Python loop
        cells = list(chain.from_iterable(value))
    else:
        cells = []
        for row in value:
            if not isinstance(row, (list, tuple)) or len(row) != 9:
                return None
            cells.extend(row)
    return cells if set(map(type, cells)) == {int} and allowed.issuperset(cells) else None


# The cells of each of the 27 rows, columns and boxes, picked from the 81 in one C call.
_UNITS = [itemgetter(*unit) for unit in (
    [[9 * r + c for c in range(9)] for r in range(9)]
    + [[9 * r + c for r in range(9)] for c in range(9)]
    + [[9 * (br + r) + bc + c for r in range(3) for c in range(3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
)]


# -- finding the parts of a response ---------------------------------------------------------------

def _label(name: str, prefix: str = "") -> re.Pattern:
    # A label starts a line (after markdown decoration) and ends with a colon or the line itself.
    # Matched only at line starts (see _labels), so the pattern itself carries no ^.
    return re.compile(rf"(?i)[ \t#>*-]*{prefix}{name}[ \t]*(?::|(?=\n)|\Z)")


_PERCEPTION_LABEL = _label(PERCEPTION)
_REASONING_LABEL = _label(REASONING)
_ANSWER_LABEL = _label(ANSWER, prefix=r"(?:final[ \t]+)?")


def _labels(label: re.Pattern, word: str, text: str, lowered: str) -> list[re.Match]:
    """Matches of ``label`` at the starts of the lines where ``word`` occurs in ``lowered`` (the
    text in lower case), in order.

    Trying the pattern only on lines holding the word is much faster than a multi-line regex
    scan, which tries every position of a long response.
    """
    starts = []
    if len(lowered) == len(text):  # else lower() changed offsets (rare letters): try every line
        at = lowered.find(word)
        while at != -1:
            starts.append(text.rfind("\n", 0, at) + 1)
            at = lowered.find(word, at + 1)
    else:
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    found = (label.match(text, start) for start in dict.fromkeys(starts))
    return [m for m in found if m]


def _read_perception(text: str, lowered: str, answers: list[re.Match]) -> tuple[Grid | None, str | None]:
    """The first grid of the Perception section, or else of the text before the answer."""
    heads = _labels(_PERCEPTION_LABEL, "perception", text, lowered)
    if not heads:
        region = text[: answers[-1].start()] if answers else text
        return _pick(region, first=True, part="perception")
    start = heads[0].end()
    ends = [m.start() for m in _labels(_REASONING_LABEL, "reasoning", text, lowered) + answers if m.start() >= start]
    return _pick(text[start: min(ends, default=len(text))], first=True, part="perception")


def _read_answer(text: str, answers: list[re.Match]) -> tuple[Grid | None, str | None]:
    """The first grid after the last Answer label, or else the last grid of the whole text."""
    if answers:
        return _pick(text[answers[-1].end():], first=True, part="answer")
    return _pick(text, first=False, part="answer")


def _pick(region: str, first: bool, part: str) -> tuple[Grid | None, str | None]:
    if first:
        opening = _opening_json_grid(region)
        if opening is not None:
            return opening, None  # the region opens with a JSON grid, as the prompt asks
    json_found = _json_grids(region)
    if not first and json_found and _no_line_grid_after(region, *json_found[-1][:2]):
        return json_found[-1][2], None  # the last grid is this JSON one: lines need not be read
    found, most_rows = _line_grids(region)
    found += [(start, grid) for start, _, grid in json_found]
    if not found:
        if 0 < most_rows < 9:
            return None, f"{part}: found {most_rows} rows, need 9"
        return None, f"{part}: no 9x9 grid found"
    found.sort(key=lambda item: item[0])
    return (found[0] if first else found[-1])[1], None


# -- grids written as JSON -------------------------------------------------------------------------

_JSON_LISTS = 16
_JSON_WINDOW = 4000  # json_at's default
_BLANK_STRINGS = frozenset({"", "-", ".", "_", "0", "*", "?", "x", "null", "none"})
_STRING_CELLS = {**dict.fromkeys(_BLANK_STRINGS, 0), **{str(d): d for d in range(1, 10)}}
_EXACT_CELLS = {**_STRING_CELLS, **{d: d for d in range(10)}, None: 0}


def _json_grids(text: str) -> list[tuple[int, int, Grid]]:
    """(start, end, grid) for every outermost JSON list in ``text`` that reads as a 9x9 grid.

    Lists are found as json_spans finds them, but each is first tried in the prompt's own layout.
    """
    found, pos = [], text.find("[")
    while pos != -1:
        end, grid = _json_grid_at(text, pos)
        if grid is not None:
            found.append((pos, end, grid))
        pos = text.find("[", end if end is not None else pos + 1)
    return found


def _opening_json_grid(region: str) -> Grid | None:
    """The grid of a JSON list that opens ``region`` (after blanks), if it reads as one."""
    lead = len(region) - len(region.lstrip())
    # No "[" comes before the lead, so the first list json_spans reads would start there.
    return _json_grid_at(region, lead)[1] if region.startswith("[", lead) else None


def _json_grid_at(text: str, pos: int) -> tuple[int | None, Grid | None]:
    """(end, grid) of the JSON list at ``pos``: no end if none reads there, no grid if not one."""
    plain = _plain_grid(text, pos)
    if plain is not None:
        return plain
    read = json_at(text, pos, "[", max_opens=_JSON_LISTS)
    return (None, None) if read is None else (read[0], _json_grid(read[1]))


# The prompt's layout, rows of single digits or "-", with JSON's blanks removed and digits as "d".
_PLAIN_TEMPLATE = ("[" + ",".join(["[" + ",".join("d" * 9) + "]"] * 9) + "]").encode()
_DIGIT_AS_D = bytes.maketrans(b"0123456789", b"d" * 10)
_DIGIT_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))


def _plain_grid(text: str, pos: int) -> tuple[int, Grid] | None:
    """(end, grid) of a JSON list at ``pos`` (a "[") in the prompt's layout, read by byte translation,
    about four times faster than the JSON decoder; None for any other text, left to the decoder.

    What passes is exactly what the decoder reads as nine lists of nine one-digit integers or "-"
    strings (the "-" taken out first, so the blanks removed are all outside strings), within the
    decoder's window, and holding fewer lists than its limit.
    """
    end = text.find("]]", pos, pos + _JSON_WINDOW) + 2
    if end < 2:
        return None
    span = text[pos:end]
    if not span.isascii():
        return None
    compact = span.encode().replace(b'"-"', b"0").translate(None, b" \t\n\r")
    if compact.translate(_DIGIT_AS_D) != _PLAIN_TEMPLATE:
        return None
    cells = list(compact.translate(_DIGIT_VALUE, b"[],"))
    return end, [cells[i:i + 9] for i in range(0, 81, 9)]


def _json_grid(value: Any) -> Grid | None:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]  # [[[...9 rows...]]]
    if not isinstance(value, list):
        return None
    if len(value) == 81 and not any(isinstance(v, list) for v in value):
        value = [value[i:i + 9] for i in range(0, 81, 9)]
    if len(value) != 9:
        return None
    if set(map(type, value)) == {list} and set(map(len, value)) == {9}:
        try:
            cells = _exact_cells(list(chain.from_iterable(value)))  # all 81 at once: the usual grid
        except TypeError:
            cells = None  # the rows one by one say which is bad
        if cells is not None:
            return [cells[i:i + 9] for i in range(0, 81, 9)]
    rows = [_json_row(row) for row in value]
    return None if any(row is None for row in rows) else rows


def _json_row(row: Any) -> list[int] | None:
    if isinstance(row, str):
        cells = _tokens(row)
        return cells if len(cells) == 9 else None
    if not isinstance(row, list) or len(row) != 9:
        return None
    try:
        cells = _exact_cells(row)
    except TypeError:  # a list or dict where a cell should be
        return None
    if cells is not None:
        return cells
    cells = [_json_cell(v) for v in row]
    return None if None in cells else cells


def _exact_cells(values: list) -> list[int] | None:
    """The usual spellings of cells, looked up without a Python loop; None if any is unusual."""
    if bool in set(map(type, values)):  # True == 1 as a dict key, so bools take the long way
        return None
    cells = list(map(_EXACT_CELLS.get, values))  # TypeError for a list or dict where a cell should be
    return None if None in cells else cells


def _json_cell(v: Any) -> int | None:
    kind = type(v)  # exact types: JSON gives plain ones, and a bool must not pass as an int
    if kind is int:
        return v if 0 <= v <= 9 else None
    if kind is str:
        return _STRING_CELLS.get(v.strip().lower())
    if v is None:
        return 0
    if kind is float and v.is_integer() and 0 <= v <= 9:
        return int(v)
    return None


# -- grids written as lines of cells ---------------------------------------------------------------

_LATEX = re.compile(r"\\[a-zA-Z]+(?:\{[a-zA-Z*]*\})?|\\\\")
_EMPTY_WORD = re.compile(r"\bnull\b|\bNone\b|\"\"|''")
_ROW_LABEL = re.compile(r"^\s*(?:row|r)\s*\d\s*[:.)=|-]?", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:\d\s*[.):|]|[-*+•])\s")
_CELL = re.compile(r"[0-9]|[-._*?]")
_RULE = re.compile(r"--|__|==|[+~]")
_LETTER = re.compile(r"[A-Za-z]")
# A letter no rewrite before the letter test removes (a row label takes only r, o and w).
_KEPT_LETTER = re.compile(r"[A-NP-QS-VX-Za-np-qs-vx-z]")
_DIGIT = re.compile(r"[0-9]")
_RULE_ONLY = re.compile(r"[+=~]")
_HEADER = list(range(1, 10))
# What a line is to a grid. A digit-free line like "---------" may be a rule between boxes or a
# row of nine blanks; which one is settled by counting rows once the whole grid is seen.
ROW, GRID, RULE, BLANK_ROW_OR_RULE, OTHER = range(5)


_TOKEN_CELLS = {**{str(d): d for d in range(10)}, **dict.fromkeys("-._*?", 0)}


def _tokens(line: str) -> list[int]:
    """The cells a line spells, in order: digits, blanks as 0."""
    return list(map(_TOKEN_CELLS.__getitem__, _CELL.findall(line)))


def _classify(line: str) -> tuple[int, list[int]]:
    """What kind of line this is, with its cells (9 for a row, 81 for a whole grid on one line)."""
    # Each rewrite runs only where it can match: most lines are prose or plain rows.
    if "\\" in line:
        line = _LATEX.sub(" ", line)
    if "null" in line or "None" in line or '""' in line or "''" in line:
        line = _EMPTY_WORD.sub(".", line)
    if _KEPT_LETTER.search(line):  # prose, the most common line, known without the row-label rewrite
        return OTHER, []
    line = _ROW_LABEL.sub("", line)
    if _LETTER.search(line):
        return OTHER, []
    table = _table_cells(line) if line.count("|") >= 8 else None
    if table is not None:
        return ROW, table
    cells = _tokens(line)
    if len(cells) not in (9, 81) and _LIST_MARK.match(line):
        cells = _tokens(_LIST_MARK.sub("", line, count=1))
    kind = {9: ROW, 81: GRID}.get(len(cells), OTHER)
    if not _DIGIT.search(line):
        ruled = _RULE.search(line)
        if ruled and kind == ROW and not _RULE_ONLY.search(line):
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
            if run:
                found += _run_grids(run)
                most, run = max(most, sum(row for _, _, row in run)), []
            if kind == GRID:
                found.append((pos, [cells[i:i + 9] for i in range(0, 81, 9)]))
        pos += len(line)
    found += _run_grids(run)
    return found, max(most, sum(row for _, _, row in run))


def _no_line_grid_after(text: str, start: int, end: int) -> bool:
    """Whether no grid read from lines can start after ``start``, where a JSON grid spans to ``end``.

    Such a grid is a whole-grid line, or nine rows of one run of lines, all starting after ``start``.
    Lines are walked back from the end to ``start``, counting rows per run, erring towards more:
    a line shorter than 9 characters cannot spell nine cells and is skipped, and lines within the
    JSON grid count as rows unread unless long enough (81 characters) to be a whole grid.
    """
    rows, pos = 0, len(text)
    for line in reversed(text.splitlines(keepends=True)):
        pos -= len(line)
        if pos <= start:
            return True
        if len(line) < 9:
            continue
        if pos < end and len(line) < 81:
            kind = ROW
        elif "\\" not in line and "null" not in line and "None" not in line and _KEPT_LETTER.search(line):
            kind = OTHER  # prose, as in _classify
        else:
            kind = _classify(line)[0]
        if kind == OTHER:
            rows = 0
        elif kind in (ROW, BLANK_ROW_OR_RULE):
            rows += 1
        if kind == GRID or rows == 9:
            return False
    return True


def _run_grids(run: list[tuple[int, list[int], bool]]) -> list[tuple[int, Grid]]:
    rows = [(pos, cells) for pos, cells, row in run if row]
    if (len(rows) % 9 or not rows) and len(run) % 9 == 0:
        rows = [(pos, cells) for pos, cells, _ in run]  # the dashed lines were rows of blanks
    if len(rows) % 9 and rows and rows[0][1] == _HEADER:
        rows = rows[1:]  # a "1 2 3 ... 9" column header above the rows
    return [(rows[i][0], [cells for _, cells in rows[i:i + 9]]) for i in range(0, len(rows) - 8, 9)]
