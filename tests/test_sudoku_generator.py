"""The sudoku generator and compiled solver, cross-checked against a SAT encoding."""
import numpy as np
import pytest
from pysat.solvers import Minisat22

from vlmdiag.errors import BudgetExceeded, ConfigError
from vlmdiag.generators.sudoku import SudokuConfig, make_puzzle, random_grid, shuffle_symmetries
from vlmdiag.generators.sudoku_solver import count_solutions, dig, random_fill, solve
from vlmdiag.tasks.base import TaskConfig

# -- an independent reference: sudoku as CNF ----------------------------------------------------


def var(r: int, c: int, d: int) -> int:
    """SAT variable for "cell (r, c) holds digit d" (d in 1..9)."""
    return r * 81 + c * 9 + d


def _units() -> list[list[tuple[int, int]]]:
    rows = [[(r, c) for c in range(9)] for r in range(9)]
    cols = [[(r, c) for r in range(9)] for c in range(9)]
    boxes = [[(br + i, bc + j) for i in range(3) for j in range(3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
    return rows + cols + boxes


def sudoku_cnf() -> list[list[int]]:
    clauses = []
    for r in range(9):
        for c in range(9):
            clauses.append([var(r, c, d) for d in range(1, 10)])
            clauses += [[-var(r, c, a), -var(r, c, b)] for a in range(1, 10) for b in range(a + 1, 10)]
    for unit in _units():
        for d in range(1, 10):
            clauses.append([var(r, c, d) for r, c in unit])
            clauses += [[-var(*p, d), -var(*q, d)] for i, p in enumerate(unit) for q in unit[i + 1:]]
    return clauses


CNF = sudoku_cnf()


def sat_solutions(puzzle, limit: int = 2) -> list[list[list[int]]]:
    """Up to ``limit`` solutions, each found after blocking the ones before."""
    givens = [var(r, c, int(v)) for r in range(9) for c in range(9) if (v := puzzle[r][c])]
    found = []
    with Minisat22(bootstrap_with=CNF) as sat:
        while len(found) < limit and sat.solve(assumptions=givens):
            true = {lit for lit in sat.get_model() if lit > 0}
            grid = [[next(d for d in range(1, 10) if var(r, c, d) in true) for c in range(9)] for r in range(9)]
            found.append(grid)
            sat.add_clause([-var(r, c, grid[r][c]) for r in range(9) for c in range(9)])
    return found


def is_valid_solution(grid) -> bool:
    grid = np.asarray(grid)
    return all(sorted(grid[r, c] for r, c in unit) == list(range(1, 10)) for unit in _units())


# -- the compiled solver against SAT --------------------------------------------------------------


@pytest.fixture(scope="module")
def puzzles():
    """Generated puzzles across the clue range, deterministic."""
    rng = np.random.default_rng(2024)
    return [make_puzzle(SudokuConfig(clues=(22, 65)), rng) for _ in range(240)]


def test_generated_puzzles_have_one_solution_which_the_solver_finds(puzzles):
    for sample in puzzles:
        sat = sat_solutions(sample.problem)
        assert len(sat) == 1, "SAT found a second solution"
        ours, count = solve(sample.problem)
        assert count == 1
        assert ours.tolist() == sat[0]


def test_meta_clue_count_is_the_number_of_givens(puzzles):
    for sample in puzzles:
        assert sample.meta["clues"] == sum(v != 0 for row in sample.problem for v in row)
    assert {s.meta["clues"] for s in puzzles} >= {22, 65}


def test_minimal_puzzles_lose_uniqueness_when_any_given_goes():
    rng = np.random.default_rng(5)
    puzzle, givens = dig(random_grid(rng), rng, target=0)
    assert givens > 17
    for r, c in zip(*np.nonzero(puzzle)):
        fewer = puzzle.copy()
        fewer[r, c] = 0
        assert count_solutions(fewer) == 2
        assert len(sat_solutions(fewer.tolist())) == 2


def test_solution_counts_agree_with_sat_on_underconstrained_puzzles():
    rng = np.random.default_rng(6)
    seen = set()
    for i in range(30):
        puzzle, _ = dig(random_grid(rng), rng, target=24)
        holes = rng.choice(np.flatnonzero(puzzle), size=1 + i % 2, replace=False)
        loose = puzzle.ravel().copy()
        loose[holes] = 0
        loose = loose.reshape(9, 9)
        count = count_solutions(loose, limit=40)
        assert count == len(sat_solutions(loose.tolist(), limit=40))
        seen.add(count)
    assert len(seen) >= 2  # the comparison covered more than one count


def test_counting_stops_at_the_limit():
    empty = np.zeros((9, 9), int)
    assert count_solutions(empty, limit=2) == 2
    assert count_solutions(empty, limit=50) == 50


def test_clashing_givens_have_no_solution():
    clash = np.zeros((9, 9), int)
    clash[0, 0] = clash[0, 5] = 4
    assert count_solutions(clash) == 0
    assert solve(clash) == (None, 0)


def test_unsolvable_but_clash_free_puzzle_is_detected():
    # Row 0 holds 1-8 and column 8 has a 9 lower down: r1c9 has no candidate.
    grid = np.zeros((9, 9), int)
    grid[0, :8] = range(1, 9)
    grid[4, 8] = 9
    assert count_solutions(grid) == 0
    assert sat_solutions(grid.tolist()) == []


# -- exact clue counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("clues", [22, 30, 45, 65, 80, 81])
def test_puzzles_have_exactly_the_requested_givens(clues):
    rng = np.random.default_rng(clues)
    for _ in range(3):
        sample = make_puzzle(SudokuConfig(clues=(clues, clues)), rng)
        assert sum(v != 0 for row in sample.problem for v in row) == clues
        assert sample.meta["clues"] == clues
        assert len(sat_solutions(sample.problem)) == 1


def test_clue_counts_are_drawn_across_the_range():
    rng = np.random.default_rng(11)
    counts = {make_puzzle(SudokuConfig(clues=(40, 43)), rng).meta["clues"] for _ in range(60)}
    assert counts == {40, 41, 42, 43}


# -- grids and symmetries -------------------------------------------------------------------------


def test_random_fills_and_grids_are_valid_and_varied():
    rng = np.random.default_rng(7)
    fills = [random_fill(rng) for _ in range(50)]
    grids = [random_grid(rng) for _ in range(50)]
    assert all(is_valid_solution(g) for g in fills + grids)
    assert len({g.tobytes() for g in grids}) == 50
    # Every digit shows up in the top-left corner across many grids: no fixed first row.
    assert {int(g[0, 0]) for g in grids} == set(range(1, 10))


def test_symmetries_preserve_validity_and_move_the_grid():
    rng = np.random.default_rng(8)
    base = random_fill(rng)
    images = [shuffle_symmetries(base, rng) for _ in range(40)]
    assert all(is_valid_solution(g) for g in images)
    assert sum(not np.array_equal(g, base) for g in images) >= 39


def test_symmetries_keep_the_puzzle_structure():
    """Applying one transformation to a puzzle and its solution keeps the solution unique."""
    rng = np.random.default_rng(9)
    sample = make_puzzle(SudokuConfig(clues=(28, 28)), rng)
    puzzle = np.array(sample.problem)
    solution, _ = solve(puzzle)
    # The transformation drawn depends only on the generator state, not on the grid.
    moved_puzzle = shuffle_symmetries(puzzle, np.random.default_rng(10))
    moved_solution = shuffle_symmetries(solution.astype(int), np.random.default_rng(10))
    assert (moved_puzzle != 0).sum() == 28
    assert sat_solutions(moved_puzzle.tolist()) == [moved_solution.tolist()]


# -- determinism --------------------------------------------------------------------------------------


def test_same_generator_state_gives_the_same_puzzle():
    config = SudokuConfig(clues=(25, 60))
    first = [make_puzzle(config, np.random.default_rng(3)) for _ in range(2)]
    assert first[0] == first[1]
    other = make_puzzle(config, np.random.default_rng(4))
    assert other.problem != first[0].problem


def test_meta_has_every_column_the_task_declares():
    sample = make_puzzle(SudokuConfig(), np.random.default_rng(0))
    assert set(sample.meta) == {"clues", "difficulty", "techniques", "guesses"}
    assert isinstance(sample.meta["techniques"], str) and isinstance(sample.meta["guesses"], int)


# -- user errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"clues": (16, 30)}, "sudoku needs 17..81 clues; 16 is impossible"),
        ({"clues": (30, 82)}, "sudoku needs 17..81 clues; 82 is impossible"),
        ({"style": "fancy"}, "unknown sudoku style 'fancy'"),
        ({"image_size": 32}, "image_size 32 is too small"),
        ({"budget": 0}, "budget must be at least 1"),
    ],
)
def test_bad_configs_raise_one_line_errors(kwargs, message):
    with pytest.raises(ConfigError) as err:
        SudokuConfig(**kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_config_reads_command_line_ranges():
    config = SudokuConfig.from_options({"clues": "22-40", "budget": "50"})
    assert config.clues == (22, 40) and config.budget == 50
    assert isinstance(config, TaskConfig)
    with pytest.raises(ConfigError, match="16 is impossible"):
        SudokuConfig.from_options({"clues": "16"})


def test_seventeen_clues_exhaust_the_budget_with_a_clear_message():
    with pytest.raises(BudgetExceeded) as err:
        make_puzzle(SudokuConfig(clues=(17, 17), budget=20), np.random.default_rng(1))
    assert "17 clues" in str(err.value) and "\n" not in str(err.value)
