"""The sudoku task glue: verifier, response reader, perception scorer, prompts.

Puzzles are built here from one known solution (with validity-preserving shuffles and random
blanking), so these tests do not lean on the task's own generator.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlmdiag.tasks import get_task
from vlmdiag.tasks.base import Parsed

TASK = get_task("sudoku")
SOLUTION = [[int(c) for c in row] for row in (
    "534678912", "672195348", "198342567", "859761423", "426853791",
    "713924856", "961537284", "287419635", "345286179",
)]
PUZZLE = [[v if (r * 9 + c) % 3 else 0 for c, v in enumerate(row)] for r, row in enumerate(SOLUTION)]


def shuffled(seed: int) -> list[list[int]]:
    """Another valid solution: relabel digits, permute bands/rows within bands, stacks likewise."""
    rng = np.random.default_rng(seed)
    digits = np.concatenate(([0], rng.permutation(9) + 1))
    rows, cols = (np.concatenate([3 * b + rng.permutation(3) for b in rng.permutation(3)]) for _ in range(2))
    return digits[np.array(SOLUTION)][np.ix_(rows, cols)].tolist()


def blanked(grid: list[list[int]], seed: int, clues: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(81, size=clues, replace=False).tolist())
    return [[v if r * 9 + c in keep else 0 for c, v in enumerate(row)] for r, row in enumerate(grid)]


def is_solution(puzzle, answer) -> bool:
    """Independent check with numpy: sorted rows, columns and boxes are 1..9; givens agree."""
    a = np.array(answer)
    boxes = a.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 9)
    units = np.concatenate([a, a.T, boxes])
    p = np.array(puzzle)
    return bool((np.sort(units, axis=1) == np.arange(1, 10)).all() and ((p == 0) | (p == a)).all())


# -- verifier ------------------------------------------------------------------------------------

def test_verify_accepts_the_solution():
    assert TASK.verify(PUZZLE, SOLUTION)


def test_verify_rejects_a_wrong_digit():
    answer = [row[:] for row in SOLUTION]
    answer[4][4] = answer[4][4] % 9 + 1
    assert not TASK.verify(PUZZLE, answer)


def test_verify_rejects_a_valid_grid_that_changes_a_given():
    other = shuffled(3)
    assert TASK.verify([[0] * 9] * 9, other)
    assert other != SOLUTION and not TASK.verify(PUZZLE, other)


def test_verify_rejects_incomplete_and_malformed_answers():
    incomplete = [row[:] for row in SOLUTION]
    incomplete[0][2] = 0
    assert not TASK.verify(PUZZLE, incomplete)
    for junk in (None, "grid", [], SOLUTION[:8], [row[:8] for row in SOLUTION], [[True] * 9] * 9,
                 [[float(v) for v in row] for row in SOLUTION]):
        assert not TASK.verify(PUZZLE, junk)


def test_verify_rejects_a_duplicate_in_a_box_only():
    # Rows and columns of this grid are all permutations of 1-9 but its boxes are not.
    latin = [[(r + c) % 9 + 1 for c in range(9)] for r in range(9)]
    assert all(sorted(row) == list(range(1, 10)) for row in latin + [list(c) for c in zip(*latin)])
    assert not TASK.verify([[0] * 9] * 9, latin)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), edits=st.integers(0, 3), clues=st.integers(0, 81))
def test_verify_agrees_with_an_independent_check(seed, edits, clues):
    solution = shuffled(seed)
    puzzle = blanked(solution if seed % 2 else SOLUTION, seed, clues)
    rng = np.random.default_rng(seed + 1)
    answer = [row[:] for row in solution]
    for _ in range(edits):
        answer[int(rng.integers(9))][int(rng.integers(9))] = int(rng.integers(1, 10))
    assert TASK.verify(puzzle, answer) == is_solution(puzzle, answer)


# -- response formats ----------------------------------------------------------------------------

def json_with(blank):
    return lambda g: "[" + ",\n ".join(json.dumps([v or blank for v in row]) for row in g) + "]"


def compact(blank):
    return lambda g: "\n".join("".join(str(v) if v else blank for v in row) for row in g)


def spaced(g):
    return "\n".join(" ".join(str(v) if v else "_" for v in row) for row in g)


def boxed(g):
    rule = "+-------+-------+-------+"
    lines = [rule]
    for r, row in enumerate(g):
        cells = [str(v) if v else "." for v in row]
        lines.append("| " + " | ".join(" ".join(cells[i:i + 3]) for i in (0, 3, 6)) + " |")
        if r % 3 == 2:
            lines.append(rule)
    return "\n".join(lines)


def markdown_table(g):
    head = "| " + " | ".join(f"C{c + 1}" for c in range(9)) + " |\n|" + "---|" * 9
    return head + "\n" + "\n".join("| " + " | ".join(str(v) if v else " " for v in row) + " |" for row in g)


def row_labels(g):
    return "\n".join(f"Row {r + 1}: " + " ".join(str(v) if v else "." for v in row) for r, row in enumerate(g))


def numbered(g):
    return "\n".join(f"{r + 1}. " + " ".join(str(v) if v else "-" for v in row) for r, row in enumerate(g))


def one_line_json(g):
    return json.dumps(g)


def python_literal(g):
    return repr([[str(v) if v else "." for v in row] for row in g])


def latex(g):
    body = " \\\\\n".join(" & ".join(str(v) if v else "." for v in row) for row in g)
    return "$$\n\\begin{bmatrix}\n" + body + "\n\\end{bmatrix}\n$$"


def one_line_digits(g):
    return "".join(str(v) for row in g for v in row)


def unquoted_dashes(g):
    return "[" + ",\n".join("[" + ", ".join(str(v) if v else "-" for v in row) + "]" for row in g) + "]"


def column_header(g):
    head = "    1 2 3   4 5 6   7 8 9"
    return head + "\n" + "\n".join(f"{r + 1} | " + " ".join(str(v) if v else "." for v in row) for r, row in enumerate(g))


def gapped_boxes(g):
    rows = [" ".join(str(v) if v else "." for v in row) for row in g]
    return "\n\n".join("\n".join(rows[i:i + 3]) for i in (0, 3, 6))


def strings_per_row(g):
    return json.dumps(["".join(str(v) if v else "." for v in row) for row in g], indent=1)


FORMATS = {
    "json_dash": TASK.perception_text, "json_zero": json_with(0), "json_null": json_with(None),
    "json_empty": json_with(""), "json_dot": json_with("."), "compact_dot": compact("."),
    "compact_dash": compact("-"), "compact_zero": compact("0"), "spaced": spaced, "boxed": boxed,
    "markdown_table": markdown_table, "row_labels": row_labels, "numbered": numbered,
    "one_line_json": one_line_json, "python_literal": python_literal, "latex": latex,
    "one_line_digits": one_line_digits, "unquoted_dashes": unquoted_dashes,
    "column_header": column_header, "gapped_boxes": gapped_boxes, "strings_per_row": strings_per_row,
}


def respond(perception: str, answer: str, reasoning: str = "r1c3 must be 4: only candidate.") -> str:
    return f"Perception:\n{perception}\n\nReasoning:\n{reasoning}\n\nAnswer:\n{answer}"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_parse_reads_every_common_grid_format(fmt):
    write = FORMATS[fmt]
    parsed = TASK.parse(respond(write(PUZZLE), write(SOLUTION)))
    assert parsed == Parsed(perception=PUZZLE, answer=SOLUTION)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clues=st.integers(0, 81), fmt=st.sampled_from(sorted(FORMATS)))
def test_parse_round_trips_random_puzzles(seed, clues, fmt):
    solution = shuffled(seed)
    puzzle = blanked(solution, seed, clues)
    parsed = TASK.parse(respond(FORMATS[fmt](puzzle), FORMATS[fmt](solution)))
    assert (parsed.perception, parsed.answer) == (puzzle, solution)


def test_parse_reads_the_task_trace():
    trace = TASK.trace(PUZZLE)
    parsed = TASK.parse(trace.text)
    assert parsed.perception == PUZZLE and TASK.verify(PUZZLE, parsed.answer)
    assert trace.perception == TASK.perception_text(PUZZLE)


def test_parse_ignores_thinking_fences_and_markdown():
    decoy = FORMATS["json_zero"](shuffled(9))
    text = (
        f"<think>\nPerception:\n{decoy}\nAnswer:\n{decoy}\n</think>\n"
        f"**Perception:**\n```json\n{TASK.perception_text(PUZZLE)}\n```\n\n"
        "### Reasoning\nFill the singles first.\n\n"
        f"**Final Answer:**\n```\n{json.dumps(SOLUTION)}\n```\nThat completes the grid."
    )
    assert TASK.parse(text) == Parsed(perception=PUZZLE, answer=SOLUTION)


def test_answer_comes_from_the_last_answer_section():
    wrong = [row[:] for row in SOLUTION]
    wrong[0][0], wrong[0][1] = wrong[0][1], wrong[0][0]
    text = respond(TASK.perception_text(PUZZLE), json.dumps(wrong)) + f"\n\nWait, fix it.\nAnswer: {json.dumps(SOLUTION)}"
    assert TASK.parse(text).answer == SOLUTION


def test_reasoning_grids_do_not_count_as_perception_or_answer():
    draft = FORMATS["json_zero"](shuffled(5))
    text = respond(TASK.perception_text(PUZZLE), json.dumps(SOLUTION), reasoning=f"Progress so far:\n{draft}")
    assert TASK.parse(text) == Parsed(perception=PUZZLE, answer=SOLUTION)


def test_without_labels_perception_is_the_first_grid_and_answer_the_last():
    text = f"The grid reads\n{spaced(PUZZLE)}\nso after some work the solution is\n{compact('.')(SOLUTION)}\n"
    assert TASK.parse(text) == Parsed(perception=PUZZLE, answer=SOLUTION)


OTHER = shuffled(11)


@pytest.mark.parametrize("layout, last", [
    (lambda: f"{json.dumps(OTHER)}\nthen\n{spaced(SOLUTION)}", SOLUTION),
    (lambda: f"{spaced(OTHER)}\nthen\n{TASK.perception_text(SOLUTION)}", SOLUTION),
    (lambda: f"{TASK.perception_text(OTHER)}\nthen\n{one_line_digits(SOLUTION)}", SOLUTION),
    (lambda: f"{TASK.perception_text(OTHER)}\n{boxed(SOLUTION)}", SOLUTION),
    # The JSON rows and the spaced rows after them make one run of 18 rows: two grids.
    (lambda: f"{TASK.perception_text(OTHER)}\n{spaced(SOLUTION)}", SOLUTION),
    (lambda: f"{spaced(OTHER)}\n{TASK.perception_text(SOLUTION)}\n" + "\n".join(spaced(OTHER).splitlines()[:8]), SOLUTION),
    (lambda: f"{TASK.perception_text(SOLUTION)}\n\nr1c1 is 5.\n" + "\n".join(spaced(OTHER).splitlines()[:8]), SOLUTION),
])
def test_without_an_answer_label_the_last_grid_wins_in_any_format(layout, last):
    assert TASK.parse(layout()).answer == last


def test_rows_given_as_tuples_verify_and_score_like_lists():
    assert TASK.verify(PUZZLE, tuple(tuple(row) for row in SOLUTION))
    assert TASK.score_perception(PUZZLE, [tuple(row) for row in PUZZLE])["exact"] == 1.0


JSON_NOISE = st.sampled_from([" ", "\n", "\t", "\r", "\x0b", '"', "'", "-", '"-"', "0", "7", ",", "[", "]", ".", "e", "null", "true", "é"])


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clues=st.integers(0, 81), dump=st.booleans(), data=st.data())
def test_the_prompt_layout_reader_agrees_with_the_json_decoder(seed, clues, dump, data):
    from vlmdiag.tasks.sudoku import _plain_grid

    grid = blanked(shuffled(seed), seed, clues)
    text = json.dumps(grid) if dump else TASK.perception_text(grid)
    if not data.draw(st.booleans()):  # as written: always read, and right
        assert _plain_grid(text, 0) == (len(text), grid)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(1, len(text)))  # the reader is only asked where a "[" is
        text = text[:i] + data.draw(JSON_NOISE) + text[i + data.draw(st.integers(0, 2)):]
    read = _plain_grid(text, 0)
    if read is not None:  # whatever it accepts, the decoder reads the same way
        value, end = json.JSONDecoder().raw_decode(text)
        assert (end, [[0 if v == "-" else v for v in row] for row in value]) == read
        assert all(type(v) is int or v == "-" for row in value for v in row)


def test_a_lone_answer_section_leaves_perception_unread():
    parsed = TASK.parse(f"Answer:\n{json.dumps(SOLUTION)}")
    assert parsed.answer == SOLUTION
    assert parsed.perception is None and parsed.perception_error == "perception: no 9x9 grid found"


def test_parse_reports_a_short_grid():
    short = "\n".join(TASK.perception_text(PUZZLE).splitlines()[:8])
    parsed = TASK.parse(respond(short, "I could not finish."))
    assert parsed.perception is None and parsed.perception_error == "perception: found 8 rows, need 9"
    assert parsed.answer is None and parsed.answer_error == "answer: no 9x9 grid found"


def test_parse_reports_a_row_with_the_wrong_length():
    rows = spaced(PUZZLE).splitlines()
    rows[4] += " 7"
    parsed = TASK.parse(respond("\n".join(rows), compact(".")(SOLUTION)))
    assert parsed.perception is None and parsed.perception_error.startswith("perception: found 4 rows")
    assert parsed.answer == SOLUTION


def test_an_incomplete_answer_is_read_but_does_not_verify():
    parsed = TASK.parse(respond(TASK.perception_text(PUZZLE), TASK.perception_text(PUZZLE)))
    assert parsed.answer == PUZZLE and parsed.answer_error is None
    assert not TASK.verify(PUZZLE, parsed.answer)


def test_out_of_range_json_cells_are_not_a_grid():
    bad = [row[:] for row in SOLUTION]
    bad[2][2] = 10
    assert TASK.parse(f"Answer:\n{json.dumps(bad)}").answer is None


def assert_well_formed(parsed: Parsed):
    for grid, error in ((parsed.perception, parsed.perception_error), (parsed.answer, parsed.answer_error)):
        assert (grid is None) != (error is None)
        if grid is not None:
            assert len(grid) == 9 and all(len(row) == 9 and all(type(v) is int and 0 <= v <= 9 for v in row) for row in grid)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text):
    assert_well_formed(TASK.parse(text))


GRID_ALPHABET = st.sampled_from(list('0123456789-._*?|+[]{}(),"\' \n\t:&\\') + ["null", "Row 1:", "Answer:", "Perception:", "<think>", "```"])


@settings(max_examples=300, deadline=None)
@given(st.lists(GRID_ALPHABET, max_size=400).map("".join))
def test_parse_never_raises_on_grid_like_noise(text):
    assert_well_formed(TASK.parse(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_parse_never_raises_on_mangled_correct_responses(data):
    text = TASK.trace(PUZZLE).text
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 40)))
        cut = data.draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if cut == "delete":
            text = text[:i] + text[j:]
        elif cut == "insert":
            text = text[:i] + data.draw(st.text(max_size=20)) + text[i:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    assert_well_formed(TASK.parse(text))


def test_parse_tolerates_a_non_string():
    assert_well_formed(TASK.parse(None))  # type: ignore[arg-type]


# -- perception scorer ---------------------------------------------------------------------------

def test_score_perception_exact():
    assert TASK.score_perception(PUZZLE, PUZZLE) == {
        "exact": 1.0, "cell_accuracy": 1.0, "given_as_blank": 0, "blank_as_given": 0, "wrong_digit": 0}


def test_score_perception_counts_each_kind_of_error():
    seen = [row[:] for row in PUZZLE]
    givens = [(r, c) for r in range(9) for c in range(9) if PUZZLE[r][c]]
    blanks = [(r, c) for r in range(9) for c in range(9) if not PUZZLE[r][c]]
    for r, c in givens[:2]:
        seen[r][c] = 0
    for r, c in blanks[:3]:
        seen[r][c] = SOLUTION[r][c]
    for r, c in givens[5:9]:
        seen[r][c] = seen[r][c] % 9 + 1
    scores = TASK.score_perception(PUZZLE, seen)
    assert scores == {"exact": 0.0, "cell_accuracy": 72 / 81, "given_as_blank": 2, "blank_as_given": 3, "wrong_digit": 4}


@pytest.mark.parametrize("perception", [None, [], PUZZLE[:8], [[1] * 9] * 8 + [[10] * 9], "grid"])
def test_missing_or_malformed_perception_scores_zero(perception):
    assert TASK.score_perception(PUZZLE, perception) == {
        "exact": 0.0, "cell_accuracy": 0.0, "given_as_blank": 0, "blank_as_given": 0, "wrong_digit": 0}


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_score_perception_agrees_with_numpy(seed):
    rng = np.random.default_rng(seed)
    truth = np.array(blanked(SOLUTION, seed, int(rng.integers(17, 82))))
    seen = np.where(rng.random((9, 9)) < 0.2, rng.integers(0, 10, (9, 9)), truth)
    scores = TASK.score_perception(truth.tolist(), seen.tolist())
    assert scores["cell_accuracy"] == pytest.approx((truth == seen).mean())
    assert scores["exact"] == float((truth == seen).all())
    assert scores["given_as_blank"] == int(((truth > 0) & (seen == 0)).sum())
    assert scores["blank_as_given"] == int(((truth == 0) & (seen > 0)).sum())
    assert scores["wrong_digit"] == int(((truth > 0) & (seen > 0) & (truth != seen)).sum())


# -- prompts and metadata ------------------------------------------------------------------------

def test_prompt_asks_for_the_layout_and_the_grid_format():
    prompt = TASK.prompt(PUZZLE)
    for words in ('"Perception:"', '"Reasoning:"', '"Answer:"', "9x9 JSON list", '"-" for empty cells'):
        assert words in prompt
    assert prompt.index("Perception") < prompt.index("Reasoning") < prompt.index("Answer")


def test_counterfactual_prompt_hands_over_the_grid_text():
    prompt = TASK.counterfactual_prompt(PUZZLE)
    assert TASK.perception_text(PUZZLE) in prompt
    assert '"Reasoning:"' in prompt and '"Answer:"' in prompt and '"Perception:"' not in prompt
    assert TASK.parse(prompt).perception == PUZZLE


def test_every_metadata_column_is_produced():
    from vlmdiag.seeding import rng_for

    config = TASK.config_cls(clues=(40, 40), style="varied")
    sample = TASK.sample(config, rng_for(1, 0))
    _, render_meta = TASK.render(sample, config, rng_for(1, 0, stream=1))
    meta = {**sample.meta, **render_meta}
    assert set(TASK.meta_features) <= set(meta)
    assert set(TASK.breakdown_columns) <= set(TASK.meta_features)
    assert meta["clues"] == 40 and meta["style_preset"] == "varied" and meta["image_size"] == 369
