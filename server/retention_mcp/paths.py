"""Where the shipped templates, schemas and examples are, in a wheel and in a source checkout alike."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` ('templates' or 'schemas').

    A wheel carries it inside the package; an editable install reads it from the top of the checkout.
    """
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the shipped '{name}' folder is missing from this installation of retention-mcp")


def readable_dirs(data_dirs: list[Path]) -> list[Path]:
    """The configured data directories, then the bundled example data (read-only, always available)."""
    return [*data_dirs, PACKAGE_DIR / "examples"]


EXAMPLES_FILE = PACKAGE_DIR / "examples" / "scenarios.json"
