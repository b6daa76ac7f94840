"""Renderers: draw a task's problem as an image. Also the one PNG encoder every dataset row uses."""
from __future__ import annotations

import io

from PIL import Image

# zlib's run-length strategy: on drawings (long runs of one colour) it is both the fastest and the
# smallest of zlib's settings, whatever the level. Palette images skip PNG row filtering, the other
# big cost, which is why the graph renderer returns them.
Z_RLE = 3


def encode_png(image: Image.Image) -> bytes:
    """Lossless PNG bytes of ``image`` in its own mode (palette images stay palette images)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1, compress_type=Z_RLE)
    return buffer.getvalue()
