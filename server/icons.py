"""The server's icon (a magnifier over a star), defined once as a data: URL so no client fetches anything.

One 32x32 PNG (the format every client that shows icons must support): at protocol 2026-07-28 the
server's identity, icon included, is stamped on every response, so it is kept small (~0.6 KB).
"""

from __future__ import annotations

from mcp_types import Icon

_PNG_32 = (
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgBAMAAACBVGfHAAAAMFBMVEUrLULw8PIhJTq6u8IHBwpfV2rvaptONVCoqbEsLUIsLUGc"
    "TXMrK0B/f389QlR6fImMXHEqAAAAEHRSTlP9//7/Cf7//v91mP87Av/+oGjV7AAAASlJREFUeNpVkr1Kw1AYhp98SWpTpfRQHERo"
    "Q0QLKv70BuzQRVSwg4uTu4MOrt5Dh4KrN9FJRy9AwdGf2FlIBKFo7YlDm9Pk3c7Dcz4+zntoH95iUnpoc9QlE++ZfXLp0coDR84A"
    "CPwpKAAgAZISB6D2VJMmobknHaVUdTA5WMDqJ0OPpBICCMgL1xffFKc6EM/13sfxT9OA1vik0r9iJ53hf61tQ+c0iVODgwruObMZ"
    "dPv8aoIUDHx75I5cjo3hj9Zvljd5NJuuqEVcVRVjzPOnFtBbfrq6FDwQLZEGbCCp7b02NqyoUYwnBgRa+ChLpFMA4KuwHocZIFZZ"
    "Io1tQFJfihrFeGYgVnn6SGbKrgCZIgWfUq6oABzxMuANuuLky27J8D77He4u/wEN+0eqOq9FTQAAAABJRU5ErkJggg=="
)

#: Icons of the server, its tools, resources, templates and prompts.
ICONS: list[Icon] = [Icon(src="data:image/png;base64," + _PNG_32, mime_type="image/png", sizes=["32x32"])]
