"""The workspace's colour pairs meet WCAG 2.1 AA contrast (4.5:1 for text), read from the stylesheet
itself so a new colour is checked the day it is chosen."""

import re
from pathlib import Path

import lendcrm

CSS = Path(lendcrm.__file__).resolve().parent / "web" / "static" / "web" / "app.css"
# (text, background) pairs the stylesheet uses for words.
PAIRS = [
    ("ink", "bg"),
    ("ink", "panel"),
    ("muted", "panel"),
    ("muted", "bg"),
    ("brand", "panel"),
    ("brand-dark", "info-bg"),
    ("ok", "ok-bg"),
    ("warn", "warn-bg"),
    ("bad", "bad-bg"),
    ("bad", "panel"),
]


def _palette() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text()))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_meet_aa_contrast() -> None:
    palette = _palette()
    low = {
        (fg, bg): round(contrast(palette[fg], palette[bg]), 2)
        for fg, bg in PAIRS
        if contrast(palette[fg], palette[bg]) < 4.5
    }
    assert not low, low


def test_white_on_the_brand_colour_meets_aa() -> None:
    palette = _palette()
    assert contrast("#ffffff", palette["brand"]) >= 4.5


def test_the_contrast_formula() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5
