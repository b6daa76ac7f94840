"""Seeded visual styles shared by renderers: colour palettes, contrast checks and fonts.

A style preset names a distribution: "clean" is a single fixed look, "varied" draws colours and a
font from the generator it is handed, so perception difficulty can be raised without touching the
problems. Colours are '#rrggbb' strings so a style serialises to readable JSON.
"""
from __future__ import annotations

import colorsys
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

from vlmdiag.errors import ConfigError

PRESETS = ("clean", "varied")
# DejaVu ships inside matplotlib, so every install draws with exactly the same glyphs.
FONTS = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSerif",
    "DejaVuSerif-Bold",
    "DejaVuSansMono",
    "DejaVuSansMono-Bold",
)
# WCAG thresholds: 4.5 for text, 3 for lines and other graphical marks.
MIN_TEXT_CONTRAST = 4.5
MIN_LINE_CONTRAST = 3.0
# The fill must stand apart from the outline around it, or a vertex reads as a blob.
MIN_FILL_CONTRAST = 1.5
PALETTE_ATTEMPTS = 200


@dataclass(frozen=True)
class Palette:
    """Four colours: the canvas, lines (and outlines), shape fills, and text on those fills."""

    background: str
    line: str
    fill: str
    text: str


CLEAN_PALETTE = Palette(background="#ffffff", line="#000000", fill="#dfe9f5", text="#000000")


def check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ConfigError(f"unknown style {preset!r} (choose from: {', '.join(PRESETS)})")


def pick_palette(preset: str, rng: np.random.Generator) -> Palette:
    check_preset(preset)
    return CLEAN_PALETTE if preset == "clean" else random_palette(rng)


def pick_font(preset: str, rng: np.random.Generator) -> str:
    check_preset(preset)
    return FONTS[0] if preset == "clean" else FONTS[int(rng.integers(len(FONTS)))]


def random_palette(rng: np.random.Generator) -> Palette:
    """Random colours meeting every contrast threshold (drawn again until they do).

    A quarter of palettes are dark-background ones. The attempt budget is far above what is ever
    needed (about one draw in three succeeds); the clean palette after it only guarantees an end.
    """
    for _ in range(PALETTE_ATTEMPTS):
        dark = rng.random() < 0.25
        background = _hls(rng, (0.03, 0.18) if dark else (0.88, 1.0), saturation=0.5)
        line = _hls(rng, (0.65, 0.95) if dark else (0.0, 0.4), saturation=0.9)
        fill = _hls(rng, (0.15, 0.9), saturation=0.9)
        texts = [t for t in ("#000000", "#ffffff", line) if contrast_ratio(t, fill) >= MIN_TEXT_CONTRAST]
        text = texts[int(rng.integers(len(texts)))] if texts else None
        if (text is not None and contrast_ratio(line, background) >= MIN_LINE_CONTRAST
                and contrast_ratio(line, fill) >= MIN_FILL_CONTRAST):
            return Palette(background=background, line=line, fill=fill, text=text)
    return CLEAN_PALETTE


def _hls(rng: np.random.Generator, lightness: tuple[float, float], saturation: float) -> str:
    rgb = colorsys.hls_to_rgb(rng.random(), rng.uniform(*lightness), rng.uniform(0.0, saturation))
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two '#rrggbb' colours, from 1 (same) to 21 (black on white)."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def relative_luminance(colour: str) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb(colour))]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@lru_cache(maxsize=256)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A DejaVu font at ``size`` px, loaded once per process."""
    if name not in FONTS:
        raise ConfigError(f"unknown font {name!r} (choose from: {', '.join(FONTS)})")
    return ImageFont.truetype(str(font_dir() / f"{name}.ttf"), size)


@lru_cache(maxsize=1)
def font_dir() -> Path:
    # Located without importing matplotlib, whose import costs more than many renders.
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise ConfigError("drawing labels needs matplotlib's bundled DejaVu fonts: pip install matplotlib")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
