"""The sudoku chain-of-thought: the grid as read, the logical solver's steps in plain words, a
check of the finished grid, and the answer grid."""
from __future__ import annotations

from vlmdiag.errors import VlmdiagError
from vlmdiag.generators.sudoku_logic import UNIT_NAMES, Step, cell_name, solve_logically
from vlmdiag.generators.sudoku_solver import solve
from vlmdiag.tasks.base import Trace, write_response


def format_grid(grid, blank: str = '"-"') -> str:
    """A 9x9 grid as a JSON list, one row per line; empty cells (0) written as ``blank``.

    The perception text the prompt asks for and the answer grid both use this, so the trace's
    perception span is byte-identical to the task's perception text.
    """
    rows = ("[" + ", ".join(str(int(v)) if v else blank for v in row) + "]" for row in grid)
    return "[" + ",\n ".join(rows) + "]"


def _cells(cells) -> str:
    return ", ".join(cell_name(c) for c in cells)


def _digit_list(digits) -> str:
    digits = [str(d) for d in digits]
    return digits[0] if len(digits) == 1 else ", ".join(digits[:-1]) + " and " + digits[-1]


def _removed(step: Step) -> str:
    digits = sorted({d for _, d in step.eliminated})
    cells = sorted({c for c, _ in step.eliminated})
    return f"remove {_digit_list(digits)} from {_cells(cells)}"


def describe(step: Step) -> str:
    """One short line for a step."""
    at, unit = cell_name(step.cell), UNIT_NAMES[step.unit] if step.unit >= 0 else ""
    kind = step.technique
    if kind == "naked_single":
        return f"{at} must be {step.digit}: it is the only candidate left."
    if kind == "hidden_single":
        return f"{at} must be {step.digit}: the only place for {step.digit} in {unit}."
    if kind == "naked_pair":
        return f"{_cells(step.cells)} hold only {_digit_list(step.digits)} in {unit}: {_removed(step)}."
    if kind == "hidden_pair":
        return f"{_digit_list(step.digits)} fit only {_cells(step.cells)} in {unit}: {_removed(step)}."
    if kind in ("pointing", "box_line"):
        return f"In {unit}, {step.digits[0]} lies only in {_cells(step.cells)}: {_removed(step)}."
    if step.contradiction:
        plural = "s" if step.forced > 1 else ""
        forced = f"after {step.forced} forced placement{plural} " if step.forced else "then "
        return (
            f"Try {at} = {step.digits[0]}: {forced}{step.contradiction}, "
            f"so {at} is not {step.digits[0]}; {at} = {step.digit}."
        )
    return f"No quick contradiction; choose {at} = {step.digit} and go on (the final check confirms it)."


def sudoku_trace(puzzle) -> Trace:
    """A deterministic worked solution of ``puzzle`` (9x9 list, 0 = empty)."""
    solution, _ = solve(puzzle)
    if solution is None:
        raise VlmdiagError("this sudoku has no solution, so it has no worked solution either")
    result = solve_logically(puzzle, solution)
    givens = sum(1 for row in puzzle for v in row if v)
    empty = 81 - givens
    intro = (f"{givens} givens, {empty} cell{'s' if empty != 1 else ''} to fill. A cell's candidates "
             "are the digits not yet in its row, column or box.")
    lines = [intro] + [describe(step) for step in result.steps]
    lines.append(f"Check: every row, column and box holds 1-9 once, and all {givens} givens are kept.")
    answer = [result.grid[r * 9:(r + 1) * 9] for r in range(9)]
    return write_response(format_grid(puzzle), "\n".join(lines), format_grid(answer))
