"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re


def tbody_rows(html: str, css: str) -> list[list[str]]:
    """The cells of each body row of the site table in the ``div`` of class ``css``."""
    [start] = [m.end() for m in re.finditer(r'<div class="[^"]*\b' + re.escape(css) + r'\b[^"]*">', html)]
    table = html[start : html.index("</table>", start)]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :], re.S)]
