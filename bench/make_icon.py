"""Draws the server's 16x16 icon (server/icons.py) from ART and prints its base64 PNG.

.venv/bin/python -m bench.make_icon
"""

from __future__ import annotations

import base64
import io

ART = [
    "..############..",
    ".##############.",
    "################",
    "####wwwww#######",
    "###ww###ww######",
    "##ww##p##ww#####",
    "##w##ppp##w#####",
    "##w#ppppp#w#####",
    "##w##ppp##w#####",
    "##ww#p#p#ww#####",
    "###ww###www#####",
    "####wwwww#ww####",
    "##########ww####",
    "###########ww###",
    ".###########w##.",
    "..############..",
]
PALETTE = {".": (0, 0, 0), "#": (43, 45, 66), "w": (240, 240, 242), "p": (239, 106, 155)}  # "." is transparent


def icon_png() -> bytes:
    from PIL import Image

    keys = list(PALETTE)
    image = Image.new("P", (16, 16))
    image.putpalette([c for key in keys for c in PALETTE[key]])
    image.putdata([keys.index(c) for row in ART for c in row])
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True, transparency=0, bits=2)
    return buf.getvalue()


if __name__ == "__main__":
    print(base64.b64encode(icon_png()).decode())
