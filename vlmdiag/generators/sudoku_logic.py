"""Solve a sudoku the way a person does, recording each deduction: the difficulty rater and the
raw material of the chain-of-thought trace.

Techniques are tried easiest first and the search restarts from the easiest after every step:
naked single, hidden single, naked pair, hidden pair, pointing (locked candidates), box/line
reduction, and finally a guess. A guess tries the wrong digit of a two-candidate cell and
propagates singles until something breaks; when no such trial breaks, the known solution
decides (and the finished grid is checked at the end). Plain Python on bitmasks: a few ms a
puzzle, run once per instance.
"""
from __future__ import annotations

from dataclasses import dataclass

_ALL = 0x1FF

ROWS = tuple(tuple(r * 9 + k for k in range(9)) for r in range(9))
COLS = tuple(tuple(r * 9 + k for r in range(9)) for k in range(9))
BOXES = tuple(
    tuple((b // 3 * 3 + i // 3) * 9 + b % 3 * 3 + i % 3 for i in range(9)) for b in range(9)
)
UNITS = ROWS + COLS + BOXES
UNIT_NAMES = tuple(f"{kind} {i + 1}" for kind in ("row", "column", "box") for i in range(9))
# Boxes first: "the only place for 7 in box 2" is how people usually spot a hidden single.
_SEARCH_ORDER = tuple(range(18, 27)) + tuple(range(18))
_CELL_UNITS = tuple(tuple(u for u, unit in enumerate(UNITS) if c in unit) for c in range(81))
PEERS = tuple(
    tuple(sorted({p for u in _CELL_UNITS[c] for p in UNITS[u]} - {c})) for c in range(81)
)

TECHNIQUES = ("naked_single", "hidden_single", "naked_pair", "hidden_pair", "pointing", "box_line", "guess")
LEVELS = ("easy", "medium", "hard", "expert")
_LEVEL = {"naked_single": 0, "hidden_single": 1, "guess": 3}  # every other technique is "hard"


@dataclass(frozen=True)
class Step:
    """One deduction. Placements set ``cell``/``digit``; eliminations list ``eliminated``."""

    technique: str
    cell: int = -1  # cell placed (for a guess: the cell tried)
    digit: int = 0  # digit placed there
    unit: int = -1  # index into UNITS the deduction is about
    cells: tuple[int, ...] = ()  # cells of the pattern (pair, pointing cells)
    digits: tuple[int, ...] = ()  # digits of the pattern; for a guess, the digits set aside
    eliminated: tuple[tuple[int, int], ...] = ()  # (cell, digit) candidates removed
    contradiction: str = ""  # guess: what the trial ran into ("" when nothing broke)
    forced: int = 0  # guess: singles the trial placed before the contradiction


@dataclass(frozen=True)
class LogicResult:
    steps: tuple[Step, ...]
    grid: tuple[int, ...]  # the 81 cells after solving
    techniques: tuple[str, ...]  # techniques used, easiest first
    difficulty: str
    guesses: int


def cell_name(c: int) -> str:
    return f"r{c // 9 + 1}c{c % 9 + 1}"


def _digit(bit: int) -> int:
    return bit.bit_length()


def _digits(mask: int) -> tuple[int, ...]:
    return tuple(d + 1 for d in range(9) if mask >> d & 1)


class _Board:
    """Values and candidate masks (0 for filled cells) of the 81 cells."""

    def __init__(self, values: list[int], cands: list[int]):
        self.values, self.cands = values, cands

    @classmethod
    def from_puzzle(cls, cells: list[int]) -> _Board:
        cands = [0] * 81
        for c in range(81):
            if not cells[c]:
                used = 0
                for p in PEERS[c]:
                    used |= 1 << cells[p] >> 1
                cands[c] = _ALL & ~used
        return cls(list(cells), cands)

    def copy(self) -> _Board:
        return _Board(self.values[:], self.cands[:])

    def place(self, cell: int, digit: int) -> int:
        """Fill a cell; returns a peer left with no candidate, or -1."""
        self.values[cell], self.cands[cell] = digit, 0
        bit, dead = 1 << (digit - 1), -1
        cands = self.cands
        for p in PEERS[cell]:
            if cands[p] & bit:
                cands[p] ^= bit
                if not cands[p] and dead < 0:
                    dead = p
        return dead

    def apply(self, step: Step) -> None:
        if step.cell >= 0:
            self.place(step.cell, step.digit)
        for c, d in step.eliminated:
            self.cands[c] &= ~(1 << (d - 1))


# -- techniques: each returns the first Step it finds, or None ----------------------------------


def naked_single(board: _Board) -> Step | None:
    for c, m in enumerate(board.cands):
        if m and not m & (m - 1):
            return Step("naked_single", cell=c, digit=_digit(m))
    return None


def _once_twice(board: _Board, unit: tuple[int, ...]) -> tuple[int, int]:
    once = twice = 0
    for c in unit:
        m = board.cands[c]
        twice |= once & m
        once |= m
    return once, twice


def hidden_single(board: _Board) -> Step | None:
    for u in _SEARCH_ORDER:
        once, twice = _once_twice(board, UNITS[u])
        only = once & ~twice
        if only:
            bit = only & -only
            cell = next(c for c in UNITS[u] if board.cands[c] & bit)
            return Step("hidden_single", cell=cell, digit=_digit(bit), unit=u)
    return None


def dead_unit(board: _Board) -> str:
    """A unit where some missing digit has no place left ("" if none)."""
    for u in _SEARCH_ORDER:
        once, _ = _once_twice(board, UNITS[u])
        placed = 0
        for c in UNITS[u]:
            placed |= 1 << board.values[c] >> 1
        missing = _ALL & ~(once | placed)
        if missing:
            return f"{_digit(missing & -missing)} has no place left in {UNIT_NAMES[u]}"
    return ""


def _removals(board: _Board, cells, mask: int) -> tuple[tuple[int, int], ...]:
    return tuple((c, d) for c in cells for d in _digits(board.cands[c] & mask))


def naked_pair(board: _Board) -> Step | None:
    for u in _SEARCH_ORDER:
        unit = UNITS[u]
        pairs = [c for c in unit if board.cands[c].bit_count() == 2]
        for i, a in enumerate(pairs):
            for b in pairs[i + 1:]:
                mask = board.cands[a]
                if board.cands[b] != mask:
                    continue
                gone = _removals(board, (c for c in unit if c not in (a, b)), mask)
                if gone:
                    return Step("naked_pair", unit=u, cells=(a, b), digits=_digits(mask), eliminated=gone)
    return None


def hidden_pair(board: _Board) -> Step | None:
    for u in _SEARCH_ORDER:
        unit = UNITS[u]
        where = {d: tuple(c for c in unit if board.cands[c] >> (d - 1) & 1) for d in range(1, 10)}
        twos = [d for d in range(1, 10) if len(where[d]) == 2]
        for i, d1 in enumerate(twos):
            for d2 in twos[i + 1:]:
                if where[d1] != where[d2]:
                    continue
                keep = (1 << (d1 - 1)) | (1 << (d2 - 1))
                gone = _removals(board, where[d1], _ALL & ~keep)
                if gone:
                    return Step("hidden_pair", unit=u, cells=where[d1], digits=(d1, d2), eliminated=gone)
    return None


def _locked(board: _Board, technique: str, inside: range, across: range) -> Step | None:
    """A digit whose candidates in unit ``inside`` all lie in one unit ``across``: remove it from
    the rest of that unit. Pointing looks from boxes to lines, box/line from lines to boxes."""
    for u in inside:
        for d in range(1, 10):
            bit = 1 << (d - 1)
            spots = tuple(c for c in UNITS[u] if board.cands[c] & bit)
            if len(spots) < 2:
                continue
            for v in across:
                line = UNITS[v]
                if all(c in line for c in spots):
                    gone = _removals(board, (c for c in line if c not in UNITS[u]), bit)
                    if gone:
                        return Step(technique, unit=u, cells=spots, digits=(d,), eliminated=gone)
    return None


def pointing(board: _Board) -> Step | None:
    return _locked(board, "pointing", range(18, 27), range(18))


def box_line(board: _Board) -> Step | None:
    return _locked(board, "box_line", range(18), range(18, 27))


_DEDUCTIONS = (naked_single, hidden_single, naked_pair, hidden_pair, pointing, box_line)


# -- guessing ---------------------------------------------------------------------------------


def _trial(board: _Board, cell: int, digit: int) -> tuple[str, int]:
    """Place ``digit`` on a copy and propagate singles: (contradiction or "", singles placed)."""
    trial, forced = board.copy(), 0
    dead = trial.place(cell, digit)
    while dead < 0:
        step = naked_single(trial) or hidden_single(trial)
        if step is None:
            return dead_unit(trial), forced
        dead = trial.place(step.cell, step.digit)
        forced += 1
    return f"{cell_name(dead)} has no candidate left", forced


def guess(board: _Board, solution: tuple[int, ...]) -> Step:
    """Refute the wrong digit of a two-candidate cell; else let the solution decide."""
    for c, m in enumerate(board.cands):
        if m and m.bit_count() == 2:
            wrong = next(d for d in _digits(m) if d != solution[c])
            broke, forced = _trial(board, c, wrong)
            if broke:
                return Step("guess", cell=c, digit=solution[c], digits=(wrong,), contradiction=broke, forced=forced)
    fewest = min((c for c in range(81) if board.cands[c]), key=lambda c: board.cands[c].bit_count())
    others = tuple(d for d in _digits(board.cands[fewest]) if d != solution[fewest])
    return Step("guess", cell=fewest, digit=solution[fewest], digits=others)


# -- driver -----------------------------------------------------------------------------------


def _deduce(board: _Board) -> Step | None:
    for technique in _DEDUCTIONS:
        step = technique(board)
        if step:
            return step
    return None


def solve_logically(puzzle, solution) -> LogicResult:
    """Solve ``puzzle`` (9x9, 0 = empty) step by step; ``solution`` (9x9) settles guesses."""
    cells = [int(v) for row in puzzle for v in row]
    answer = tuple(int(v) for row in solution for v in row)
    board = _Board.from_puzzle(cells)
    steps: list[Step] = []
    while any(board.cands):
        step = _deduce(board) or guess(board, answer)
        board.apply(step)
        steps.append(step)
    used = {s.technique for s in steps}
    techniques = tuple(t for t in TECHNIQUES if t in used)
    level = max((_LEVEL.get(t, 2) for t in techniques), default=0)
    return LogicResult(
        steps=tuple(steps),
        grid=tuple(board.values),
        techniques=techniques,
        difficulty=LEVELS[level],
        guesses=sum(s.technique == "guess" for s in steps),
    )
