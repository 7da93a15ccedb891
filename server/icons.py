"""The server's icon (a magnifier over a star), defined once as a data: URL so no client fetches anything.

One 16x16 PNG with four colours (PNG is the format every client that shows icons must support), carried once: on
the server's implementation info, not on each tool, prompt and resource. At protocol 2026-07-28 that identity is
stamped on every response, so the icon is kept tiny (~0.2 KB; the 32x32 one before was 0.67 KB). The pixels are
drawn in bench/make_icon.py's ART, which prints this string.
"""

from __future__ import annotations

from mcp_types import Icon

_PNG_16 = (
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAgMAAABinRfyAAAADFBMVEUAAAArLULw8PLvapuvEvErAAAAAXRSTlMAQObYZgAAAFVJREFUeNoF"
    "wbERQEAURdG7z5cJNpEKRMrYEiQb6EY/mhBqgdGBhMzMmvnOCfVIUQRTgiByQuGKmG0N8v6GyfdszAcKb0Rfl5C3D8ZSI/iSVtyrMnD+t/YV"
    "NeRlkqoAAAAASUVORK5CYII="
)

#: The server's icon (its implementation info).
ICONS: list[Icon] = [Icon(src="data:image/png;base64," + _PNG_16, mime_type="image/png", sizes=["16x16"])]
