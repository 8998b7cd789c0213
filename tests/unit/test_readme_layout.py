"""The README's "Layout of the code" names every module and package of carriertui/ and of
carriertui/store/, and names nothing that is not there (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "carriertui"


def _layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Layout of the code")
    block = text.index("```", start)
    return text[block : text.index("```", block + 3)]


def _names(folder: Path) -> set[str]:
    names = set()
    for entry in folder.iterdir():
        if entry.name.startswith(("_", ".")) or entry.name == "__pycache__":
            continue
        if entry.suffix == ".py":
            names.add(entry.name)
        elif entry.is_dir() and (entry / "__init__.py").exists():
            names.add(f"{entry.name}/")
    return names


def _named(layout: str) -> set[str]:
    return set(re.findall(r"(?<![\w/])[a-z_]+(?:\.py|/)(?=[\s,|]|$)", layout))


def test_the_layout_names_every_module_and_package() -> None:
    layout = _layout()
    named = _named(layout)
    top = _names(PACKAGE)
    missing = sorted(top - named)
    assert missing == [], f"carriertui/ has these, the README's layout does not: {missing}"
    store = _names(PACKAGE / "store")
    mentioned = set(re.findall(r"[a-z_]+", layout))
    unnamed = sorted(n for n in store if n.removesuffix(".py").removesuffix("/") not in mentioned)
    assert unnamed == [], f"carriertui/store/ has these, the layout does not name them: {unnamed}"


def test_the_layout_names_nothing_that_is_not_there() -> None:
    layout = _layout()
    known = {"__main__.py", "data/", "tests/", "benchmarks/", "carriertui/"}
    every = known | {
        path.name + ("/" if path.is_dir() else "")
        for folder in (PACKAGE, ROOT / "tests", ROOT / "data")
        for path in folder.rglob("*")
        if "__pycache__" not in path.parts
    }
    ghosts = sorted(name for name in _named(layout) if name not in every)
    assert ghosts == []
