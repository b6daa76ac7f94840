"""The logical solver (every step replayed and justified independently) and the CoT trace."""
import json
import re

import numpy as np
import pytest

from vlmdiag.errors import VlmdiagError
from vlmdiag.generators.sudoku import SudokuConfig, make_puzzle, random_grid
from vlmdiag.generators.sudoku_logic import LEVELS, TECHNIQUES, solve_logically
from vlmdiag.generators.sudoku_solver import count_solutions, solve
from vlmdiag.traces.sudoku import describe, format_grid, sudoku_trace


@pytest.fixture(scope="module")
def hard_puzzles():
    """Low-clue puzzles, where every technique (guessing included) gets used."""
    rng = np.random.default_rng(12)
    return [make_puzzle(SudokuConfig(clues=(22, 26)), rng).problem for _ in range(40)]


@pytest.fixture(scope="module")
def mixed_puzzles():
    rng = np.random.default_rng(13)
    return [make_puzzle(SudokuConfig(clues=(27, 65)), rng).problem for _ in range(40)]


# -- an independent replay of the steps ------------------------------------------------------------


def unit_cells(u: int) -> list[tuple[int, int]]:
    """Unit u: rows 0-8, columns 9-17, boxes 18-26 (row-major)."""
    if u < 9:
        return [(u, c) for c in range(9)]
    if u < 18:
        return [(r, u - 9) for r in range(9)]
    b = u - 18
    return [(b // 3 * 3 + i // 3, b % 3 * 3 + i % 3) for i in range(9)]


def rc(cell: int) -> tuple[int, int]:
    return divmod(cell, 9)


def naive_candidates(grid, eliminated, r, c) -> set[int]:
    if grid[r][c]:
        return set()
    seen = {grid[r][k] for k in range(9)} | {grid[k][c] for k in range(9)}
    seen |= {grid[i][j] for i, j in unit_cells(18 + r // 3 * 3 + c // 3)}
    return set(range(1, 10)) - seen - {d for (cell, d) in eliminated if cell == r * 9 + c}


def holders(grid, eliminated, u, digit) -> set[int]:
    return {i * 9 + j for i, j in unit_cells(u) if digit in naive_candidates(grid, eliminated, i, j)}


def check_step(step, grid, eliminated, solution) -> None:
    """Assert the step's claim holds on the board it was made on."""
    kind = step.technique
    cands = lambda cell: naive_candidates(grid, eliminated, *rc(cell))
    if kind == "naked_single":
        assert cands(step.cell) == {step.digit}
    elif kind == "hidden_single":
        assert holders(grid, eliminated, step.unit, step.digit) == {step.cell}
    elif kind == "naked_pair":
        members = {i * 9 + j for i, j in unit_cells(step.unit)}
        assert len(step.cells) == 2 and set(step.cells) <= members
        assert all(cands(c) == set(step.digits) for c in step.cells)
        assert all(c in members and c not in step.cells and d in step.digits for c, d in step.eliminated)
    elif kind == "hidden_pair":
        assert all(holders(grid, eliminated, step.unit, d) == set(step.cells) for d in step.digits)
        assert all(c in step.cells and d not in step.digits for c, d in step.eliminated)
    elif kind in ("pointing", "box_line"):
        (digit,) = step.digits
        assert holders(grid, eliminated, step.unit, digit) == set(step.cells)
        inside = {i * 9 + j for i, j in unit_cells(step.unit)}
        others = [{i * 9 + j for i, j in unit_cells(v)} for v in range(27)]
        target = [v for v in range(27) if set(step.cells) <= others[v] and others[v] != inside]
        assert len(target) == 1 and (step.unit >= 18) == (kind == "pointing")
        assert all(c in others[target[0]] - inside and d == digit for c, d in step.eliminated)
    elif step.contradiction:
        # The refuted digit really admits no solution from this position.
        trial = [row[:] for row in grid]
        trial[rc(step.cell)[0]][rc(step.cell)[1]] = step.digits[0]
        assert step.digits[0] in cands(step.cell) and count_solutions(trial) == 0
    for c, d in step.eliminated:
        assert d in cands(c), "eliminated a candidate that was not there"
        assert solution[c] != d, "eliminated the solution's digit"
    if step.cell >= 0:
        assert step.digit == solution[step.cell]


def replay(puzzle):
    solution = solve(puzzle)[0].ravel().tolist()
    result = solve_logically(puzzle, np.array(solution).reshape(9, 9))
    grid, eliminated = [list(row) for row in puzzle], set()
    for step in result.steps:
        check_step(step, grid, eliminated, solution)
        if step.cell >= 0:
            r, c = rc(step.cell)
            grid[r][c] = step.digit
        eliminated |= set(step.eliminated)
    return result, grid, solution


def test_every_step_is_justified_and_agrees_with_the_solution(hard_puzzles, mixed_puzzles):
    used = set()
    for puzzle in hard_puzzles + mixed_puzzles:
        result, grid, solution = replay(puzzle)
        assert [v for row in grid for v in row] == solution == list(result.grid)
        used |= {s.technique for s in result.steps}
    assert used == set(TECHNIQUES)  # the replay covered every technique


def test_each_empty_cell_is_placed_once(hard_puzzles):
    for puzzle in hard_puzzles[:10]:
        result = solve_logically(puzzle, solve(puzzle)[0])
        placed = [s.cell for s in result.steps if s.cell >= 0]
        assert sorted(placed) == [i for i in range(81) if not puzzle[i // 9][i % 9]]


def test_difficulty_follows_the_hardest_technique(hard_puzzles, mixed_puzzles):
    for puzzle in hard_puzzles + mixed_puzzles:
        result = solve_logically(puzzle, solve(puzzle)[0])
        used = set(result.techniques)
        expected = (
            "expert" if "guess" in used
            else "hard" if used - {"naked_single", "hidden_single"}
            else "medium" if "hidden_single" in used
            else "easy"
        )
        assert result.difficulty == expected
        assert result.guesses == sum(s.technique == "guess" for s in result.steps)


def test_fewer_givens_rate_harder():
    def mean_level(clues: int) -> float:
        rng = np.random.default_rng(clues)
        samples = [make_puzzle(SudokuConfig(clues=(clues, clues)), rng) for _ in range(30)]
        return float(np.mean([LEVELS.index(s.meta["difficulty"]) for s in samples]))

    easy, middle, hard = mean_level(65), mean_level(35), mean_level(24)
    assert easy <= 0.1  # 65 givens: nearly always naked singles only
    assert easy < middle < hard


def test_a_grid_with_no_givens_is_solved_by_guesses_the_solution_decides():
    solution = random_grid(np.random.default_rng(14))
    result = solve_logically(np.zeros((9, 9), int), solution)
    assert list(result.grid) == solution.ravel().tolist()
    first = result.steps[0]
    assert first.technique == "guess" and not first.contradiction
    assert result.difficulty == "expert" and "final check" in describe(first)


# -- the trace ---------------------------------------------------------------------------------------


def read_grid(text: str) -> list[list[int]]:
    return [[0 if v == "-" else v for v in row] for row in json.loads(text)]


def is_valid_solution(grid) -> bool:
    return all(sorted(grid[r][c] for r, c in unit_cells(u)) == list(range(1, 10)) for u in range(27))


def test_perception_span_is_exactly_the_formatted_grid(mixed_puzzles):
    for puzzle in mixed_puzzles[:10]:
        trace = sudoku_trace(puzzle)
        assert trace.perception == format_grid(puzzle)
        assert trace.text.startswith("Perception:\n") and trace.prefill.endswith(trace.perception)
        assert read_grid(trace.perception) == puzzle
        assert trace.text[trace.reasoning_span[0]:].startswith("\n\nReasoning:\n")
        assert trace.reasoning_span[1] == len(trace.text)


def test_format_grid_writes_one_row_per_line_with_dashes():
    puzzle = make_puzzle(SudokuConfig(clues=(30, 30)), np.random.default_rng(15)).problem
    text = format_grid(puzzle)
    lines = text.split("\n")
    assert len(lines) == 9 and lines[0].startswith("[[") and lines[1].startswith(" [")
    assert text.count('"-"') == 51 and "0" not in text
    assert re.fullmatch(r'\[\[(\d|"-")(, (\d|"-")){8}\],', lines[0])
    assert json.loads(format_grid(puzzle, blank="0")) == puzzle


def test_answer_is_the_unique_solution_keeping_every_given(hard_puzzles):
    for puzzle in hard_puzzles[:15]:
        text = sudoku_trace(puzzle).text
        answer = json.loads(text.split("\nAnswer:\n")[1])
        assert is_valid_solution(answer)
        assert all(answer[r][c] == v for r in range(9) for c in range(9) if (v := puzzle[r][c]))
        assert '"-"' not in text.split("\nAnswer:\n")[1]


def test_reasoning_places_every_empty_cell_once_in_short_lines(hard_puzzles):
    guessed = 0
    for puzzle in hard_puzzles[:12]:
        trace = sudoku_trace(puzzle)
        reasoning = trace.text.split("\nReasoning:\n")[1].split("\n\nAnswer:")[0].split("\n")
        steps = solve_logically(puzzle, solve(puzzle)[0]).steps
        assert len(reasoning) == len(steps) + 2  # intro and final check around the steps
        assert reasoning[-1].startswith("Check: every row, column and box holds 1-9 once")
        assert max(len(line) for line in reasoning) < 200
        answer = json.loads(trace.text.split("\nAnswer:\n")[1])
        placed = [
            tuple(g for g in m.groups() if g)  # (cell, digit) from whichever wording matched
            for line in reasoning
            if (m := re.search(r"^(r\dc\d) must be (\d)|; (r\dc\d) = (\d)\.$", line))
        ]
        empties = [f"r{r + 1}c{c + 1}" for r in range(9) for c in range(9) if not puzzle[r][c]]
        assert sorted(cell for cell, _ in placed) == sorted(empties)
        assert all(answer[int(cell[1]) - 1][int(cell[3]) - 1] == int(d) for cell, d in placed)
        guessed += any(line.startswith("Try ") for line in reasoning)
    assert guessed  # the guess wording was among those read


def test_guess_lines_name_the_trial_and_its_contradiction(hard_puzzles):
    lines = [
        line
        for puzzle in hard_puzzles
        for line in sudoku_trace(puzzle).text.split("\n")
        if line.startswith("Try ")
    ]
    assert lines
    pattern = r"Try (r\dc\d) = (\d): .*(has no candidate left|has no place left in \w+ \d), so \1 is not \2; \1 = \d\."
    assert all(re.fullmatch(pattern, line) for line in lines), lines


def test_placement_lines_use_plain_words():
    puzzle = make_puzzle(SudokuConfig(clues=(50, 50)), np.random.default_rng(16)).problem
    lines = sudoku_trace(puzzle).text.split("\n")
    assert any(re.fullmatch(r"r\dc\d must be \d: it is the only candidate left\.", line) for line in lines)


def test_hidden_singles_name_the_right_box():
    rng = np.random.default_rng(17)
    boxed = []
    while not boxed:
        puzzle = make_puzzle(SudokuConfig(clues=(30, 30)), rng).problem
        result = solve_logically(puzzle, solve(puzzle)[0])
        boxed = [s for s in result.steps if s.technique == "hidden_single" and s.unit >= 18]
    step = boxed[0]
    r, c = rc(step.cell)
    assert describe(step) == (
        f"r{r + 1}c{c + 1} must be {step.digit}: the only place for {step.digit} in box {r // 3 * 3 + c // 3 + 1}."
    )


def test_trace_is_deterministic(hard_puzzles):
    assert sudoku_trace(hard_puzzles[3]) == sudoku_trace(hard_puzzles[3])


def test_unsolvable_puzzle_has_no_trace():
    bad = [[0] * 9 for _ in range(9)]
    bad[0][0] = bad[0][1] = 7
    with pytest.raises(VlmdiagError, match="no solution"):
        sudoku_trace(bad)
