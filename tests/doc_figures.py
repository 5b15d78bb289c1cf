"""Figures the docs give about what the build makes, checked by the tests that build it (test_bundle.py,
test_wheel.py): a stated size may round, but never drift from the real one."""

from __future__ import annotations

import re

from tests.conftest import ROOT

INSTALL_PAGES = (ROOT / "docs" / "install.md", ROOT / "docs" / "zh-CN" / "install.md")
# how each page states the size of each artifact, in MB of a million bytes (as bench/bundle_start.py prints them)
SIZES = {
    "bundle": (r"The bundle is about\s+([\d.]+)\s+MB", r"扩展包约\s*([\d.]+)\s*MB"),
    "wheel": (r"the wheel about\s+([\d.]+)\s+MB", r"wheel\s*约\s*([\d.]+)\s*MB"),
}
TOLERANCE = 0.10  # "about": within a tenth of the built size


def check_stated_size(artifact: str, size_in_bytes: int) -> None:
    built = size_in_bytes / 1e6
    for page, pattern in zip(INSTALL_PAGES, SIZES[artifact], strict=True):
        stated = [float(n) for n in re.findall(pattern, page.read_text("utf-8"))]
        assert stated, f"{page.relative_to(ROOT)} states no size for the {artifact} ({pattern})"
        for figure in stated:
            assert abs(figure - built) <= TOLERANCE * built, (
                f"{page.relative_to(ROOT)} says the {artifact} is about {figure} MB; the build made {built:.2f} MB"
            )
