"""Contact sheets: many rendered images as a grid of thumbnails, each captioned underneath."""
from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont

from vlmdiag.renderers.style import load_font

THUMB = 256  # px, the longer side of a thumbnail
PAD = 8  # px around and between cells
CAPTION_PX = 12
LINE_PX = 16  # caption line height
MAX_CAPTION_LINES = 3


def contact_sheet(images: list[Image.Image], captions: list[str], columns: int | None = None) -> Image.Image:
    """RGB grid of thumbnails (``columns`` per row; about square by default), captions word-wrapped."""
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    if columns is not None and columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    columns = min(columns or math.ceil(math.sqrt(len(images))), len(images))
    rows = math.ceil(len(images) / columns)
    font = load_font("DejaVuSans", CAPTION_PX)
    wrapped = [wrap(text, font, THUMB) for text in captions]
    cell_w, cell_h = THUMB + PAD, THUMB + PAD + LINE_PX * max(map(len, wrapped))
    sheet = Image.new("RGB", (PAD + columns * cell_w, PAD + rows * cell_h), "white")
    pen = ImageDraw.Draw(sheet)
    for k, (image, lines) in enumerate(zip(images, wrapped)):
        x, y = PAD + (k % columns) * cell_w, PAD + (k // columns) * cell_h
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMB, THUMB))
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2))
        for n, line in enumerate(lines):
            pen.text((x, y + THUMB + PAD // 2 + n * LINE_PX), line, fill="black", font=font)
    return sheet


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` px, at most MAX_CAPTION_LINES lines (the last cut with '…')."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > MAX_CAPTION_LINES:
        lines = lines[:MAX_CAPTION_LINES]
        lines[-1] += "…"
    return [_fit(line, font, width) for line in lines] or [""]


def _fit(line: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """A single word longer than the width is cut to fit, marked with '…'."""
    if font.getlength(line) <= width:
        return line
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line + "…"
