"""The sudoku renderer: image size and mode, byte determinism, digits drawn centred in the right
cells and nowhere else, and the varied preset's recorded, readable styles."""
from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest

from vlmdiag.errors import ConfigError
from vlmdiag.renderers.style import MIN_TEXT_CONTRAST, contrast_ratio
from vlmdiag.renderers.sudoku import line_positions, pick_style, render_sudoku

SOLUTION = [[int(c) for c in row] for row in (
    "534678912", "672195348", "198342567", "859761423", "426853791",
    "713924856", "961537284", "287419635", "345286179",
)]
# Every digit appears as a given, with blanks in every row, column and box; not symmetric, so a
# transposed drawing would show.
PUZZLE = [[v if (2 * r + c) % 3 else 0 for c, v in enumerate(row)] for r, row in enumerate(SOLUTION)]


def render(style: str = "clean", seed: int = 0, size: int = 369, grid=PUZZLE):
    return render_sudoku(grid, SimpleNamespace(image_size=size, style=style), np.random.default_rng(seed))


def png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def cell_interiors(image, style: dict) -> dict[tuple[int, int], np.ndarray]:
    """Each cell's pixels inside its grid lines."""
    pixels = np.asarray(image).astype(int)
    pos, inset = line_positions(image.width, style["margin"]), style["thick"]
    return {(r, c): pixels[pos[r] + inset: pos[r + 1] - inset + 1, pos[c] + inset: pos[c + 1] - inset + 1]
            for r in range(9) for c in range(9)}


@pytest.mark.parametrize("style", ["clean", "varied"])
@pytest.mark.parametrize("size", [128, 369, 512])
def test_image_has_the_configured_size_and_mode(style, size):
    image, meta = render(style, size=size)
    assert image.size == (size, size) and image.mode == "RGB"
    assert meta["image_size"] == size and meta["style_preset"] == style


@pytest.mark.parametrize("style", ["clean", "varied"])
def test_same_seed_gives_the_same_bytes(style):
    (a, meta_a), (b, meta_b) = render(style, seed=7), render(style, seed=7)
    assert png(a) == png(b) and meta_a == meta_b


@pytest.mark.parametrize("style,seed", [("clean", 0), ("varied", 1), ("varied", 2), ("varied", 3)])
def test_digits_are_drawn_in_given_cells_only(style, seed):
    image, meta = render(style, seed)
    params = json.loads(meta["style"])
    ink = rgb(params["ink"])
    for (r, c), crop in cell_interiors(image, params).items():
        background = rgb(params["fill"] if PUZZLE[r][c] and params["fill"] else params["bg"])
        inked = (np.abs(crop - ink).sum(-1) == 0).sum()
        if PUZZLE[r][c]:
            assert inked >= 10, (r, c)
        else:
            assert (crop == background).all(), (r, c)


def test_each_digit_has_its_own_glyph():
    # Clean cells are all 40 px at 369 px, so the same digit must give the same pixels.
    image, meta = render("clean")
    crops = cell_interiors(image, json.loads(meta["style"]))
    by_digit: dict[int, list[np.ndarray]] = {}
    for (r, c), crop in crops.items():
        if PUZZLE[r][c]:
            by_digit.setdefault(PUZZLE[r][c], []).append(crop)
    assert sorted(by_digit) == list(range(1, 10))
    for digit, same in by_digit.items():
        assert all((crop == same[0]).all() for crop in same), digit
    firsts = [same[0] for same in by_digit.values()]
    assert all(not (a == b).all() for i, a in enumerate(firsts) for b in firsts[i + 1:])


@pytest.mark.parametrize("style,seed", [("clean", 0), ("varied", 4), ("varied", 5)])
def test_digits_are_centred_in_their_cells(style, seed):
    image, meta = render(style, seed)
    params = json.loads(meta["style"])
    for (r, c), crop in cell_interiors(image, params).items():
        if not PUZZLE[r][c]:
            continue
        background = rgb(params["fill"] or params["bg"])
        ys, xs = np.nonzero(np.abs(crop - background).sum(-1))
        centre = np.array([(ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2])
        assert np.abs(centre - np.array(crop.shape[:2]) / 2).max() <= 2.5, (r, c)


def test_an_empty_grid_has_no_digits():
    image, meta = render(grid=[[0] * 9] * 9)
    assert all((crop == 255).all() for crop in cell_interiors(image, json.loads(meta["style"])).values())


def test_box_lines_are_thicker_than_cell_lines():
    image, meta = render("clean")
    params = json.loads(meta["style"])
    pos = line_positions(image.width, params["margin"])
    row = np.asarray(image)[pos[4] + 4, :, 0]  # across a cell row, above its digits
    widths = [int((row[p - 3: p + 4] < 128).sum()) for p in pos]
    assert widths == [params["thick"] if k % 3 == 0 else params["thin"] for k in range(10)]
    assert params["thick"] > params["thin"]


def test_varied_styles_are_recorded_and_differ():
    styles = {render("varied", seed)[1]["style"] for seed in range(12)}
    assert len(styles) == 12
    clean_image, clean_meta = render("clean", seed=3)
    image, meta = render("varied", seed=3)
    params = json.loads(meta["style"])
    assert meta["style"] == json.dumps(params, sort_keys=True)
    assert params.keys() == json.loads(clean_meta["style"]).keys()
    assert meta["style"] != clean_meta["style"] and png(image) != png(clean_image)
    fonts = {json.loads(render("varied", seed)[1]["style"])["font"] for seed in range(40)}
    assert len(fonts) >= 4


def test_varied_colours_keep_digits_readable():
    for seed in range(300):
        style = pick_style("varied", 369, np.random.default_rng(seed))
        for background in filter(None, (style.bg, style.fill)):
            assert contrast_ratio(style.ink, background) >= MIN_TEXT_CONTRAST
        assert style.thick > style.thin and style.margin >= style.thick // 2


def test_clean_preset_ignores_the_seed():
    assert png(render("clean", seed=1)[0]) == png(render("clean", seed=2)[0])


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown style"):
        render("fancy")
