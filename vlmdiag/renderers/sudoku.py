"""Draw a 9x9 sudoku grid: thin cell lines, thick box lines and border, centred digits.

Speed matters (a dataset is tens of thousands of images made on a couple of cores), so the
expensive part, rasterising a digit with FreeType, happens once per (font, size): the anti-aliased
glyph is cached as a cropped alpha mask and pasted in the wanted colour. Everything else is a few
dozen axis-aligned rectangles, which need no anti-aliasing because they sit on whole pixels.
"""
from __future__ import annotations

import colorsys
import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from vlmdiag.renderers.style import FONTS, MIN_LINE_CONTRAST, MIN_TEXT_CONTRAST, check_preset, contrast_ratio, load_font


@dataclass(frozen=True)
class SudokuStyle:
    """Concrete drawing parameters; recorded in the dataset so every image can be redrawn."""

    font: str
    digit_px: int
    bg: str
    ink: str
    line: str
    thin_line: str
    fill: str | None
    thin: int
    thick: int
    margin: int


def render_sudoku(grid: list[list[int]], config, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Draw ``grid`` (0 = empty) at ``config.image_size`` px in ``config.style``'s preset."""
    size = int(config.image_size)
    style = pick_style(config.style, size, rng)
    image = draw(grid, style, size)
    meta = {
        "style_preset": config.style,
        "style": json.dumps(asdict(style), sort_keys=True),
        "image_size": size,
    }
    return image, meta


def pick_style(preset: str, size: int, rng: np.random.Generator) -> SudokuStyle:
    check_preset(preset)
    return _clean_style(size) if preset == "clean" else _varied_style(size, rng)


def _scaled(px: float, size: int) -> int:
    """A length given for the reference 369 px image, at ``size`` px (at least 1)."""
    return max(1, round(px * size / 369))


def _clean_style(size: int) -> SudokuStyle:
    thick = max(2, _scaled(3, size))
    return SudokuStyle(
        font=FONTS[0], digit_px=_scaled(24, size), bg="#ffffff", ink="#000000", line="#000000",
        thin_line="#000000", fill=None, thin=_scaled(1, size), thick=thick,
        margin=thick // 2 + _scaled(3, size),
    )


def _varied_style(size: int, rng: np.random.Generator) -> SudokuStyle:
    thin = _scaled(int(rng.integers(1, 3)), size)
    thick = max(thin + 1, _scaled(int(rng.integers(2, 6)), size))
    margin = thick // 2 + int(rng.integers(0, _scaled(15, size) + 1))
    cell = (size - 1 - 2 * margin) / 9
    bg, fill = _light(rng, 0.12), None
    if rng.random() < 0.5:
        fill = _light(rng, 0.3, value=(0.82, 0.95))
    backgrounds = [bg] if fill is None else [bg, fill]
    return SudokuStyle(
        font=FONTS[int(rng.integers(len(FONTS)))],
        digit_px=max(6, round(cell * rng.uniform(0.5, 0.75))),
        bg=bg,
        ink=_dark(rng, backgrounds, MIN_TEXT_CONTRAST),
        line=_dark(rng, backgrounds, MIN_TEXT_CONTRAST),
        thin_line=_dark(rng, backgrounds, MIN_LINE_CONTRAST, value=(0.0, 0.6)),
        fill=fill,
        thin=thin,
        thick=thick,
        margin=margin,
    )


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _light(rng: np.random.Generator, saturation: float, value=(0.93, 1.0)) -> str:
    return _hex(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, saturation), rng.uniform(*value)))


def _dark(rng: np.random.Generator, backgrounds: list[str], contrast: float, value=(0.0, 0.45)) -> str:
    """A dark colour with at least ``contrast`` against every background, redrawn until it has
    one; near-black always passes on these light backgrounds, so this ends after a few draws."""
    while True:
        colour = _hex(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 0.9), rng.uniform(*value)))
        if all(contrast_ratio(colour, b) >= contrast for b in backgrounds):
            return colour


def line_positions(size: int, margin: int) -> list[int]:
    """Pixel centre of each of the 10 grid lines, spread evenly between the margins."""
    span = size - 1 - 2 * margin
    return [margin + round(k * span / 9) for k in range(10)]


def draw(grid: list[list[int]], style: SudokuStyle, size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), style.bg)
    pen = ImageDraw.Draw(image)
    pos = line_positions(size, style.margin)
    if style.fill is not None:
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if value:
                    pen.rectangle((pos[c], pos[r], pos[c + 1], pos[r + 1]), fill=style.fill)
    _draw_lines(pen, pos, style)
    _draw_digits(image, grid, pos, style)
    return image


def _draw_lines(pen: ImageDraw.ImageDraw, pos: list[int], style: SudokuStyle) -> None:
    # Thin lines first so thick box lines cover their crossings.
    lo, hi = pos[0] - style.thick // 2, pos[9] - style.thick // 2 + style.thick - 1
    for thick in (False, True):
        width, colour = (style.thick, style.line) if thick else (style.thin, style.thin_line)
        for k in range(10):
            if (k % 3 == 0) != thick:
                continue
            a = pos[k] - width // 2
            pen.rectangle((a, lo, a + width - 1, hi), fill=colour)
            pen.rectangle((lo, a, hi, a + width - 1), fill=colour)


def _draw_digits(image: Image.Image, grid: list[list[int]], pos: list[int], style: SudokuStyle) -> None:
    for r, row in enumerate(grid):
        cy = (pos[r] + pos[r + 1]) // 2
        for c, value in enumerate(row):
            if not value:
                continue
            mask, (dx, dy) = glyph(style.font, style.digit_px, int(value))
            x, y = (pos[c] + pos[c + 1]) // 2 + dx, cy + dy
            image.paste(style.ink, (x, y, x + mask.width, y + mask.height), mask)


# Six fonts times a dozen sizes times nine digits, each mask a few hundred bytes.
@lru_cache(maxsize=4096)
def glyph(font: str, px: int, digit: int) -> tuple[Image.Image, tuple[int, int]]:
    """Anti-aliased alpha mask of a digit cropped to its ink, and its offset from the anchor.

    The anchor is the font's middle ("mm"), so every digit of a font shares one baseline.
    """
    tile = Image.new("L", (2 * px, 2 * px), 0)
    ImageDraw.Draw(tile).text((px, px), str(digit), fill=255, font=load_font(font, px), anchor="mm")
    box = tile.getbbox() or (px, px, px + 1, px + 1)
    return tile.crop(box), (box[0] - px, box[1] - px)
