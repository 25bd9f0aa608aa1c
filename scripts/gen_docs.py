"""Rewrite the generated blocks of docs/*.md from the code: ``python scripts/gen_docs.py``.

Today one block: the alert type table of ``docs/alerts.md``, from ``castwatch.common.vocab``.
``--check`` exits 1 (and writes nothing) when a block is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from castwatch.common.vocab import markdown_table

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = {ROOT / "docs" / "alerts.md": ("vocab:alert-types", markdown_table)}


def render(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin[^>]*-->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {name}:begin --> … <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    stale = []
    for path, (name, make) in BLOCKS.items():
        old = path.read_text()
        new = render(old, name, make())
        if new != old:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new)
    if stale:
        print(("out of date: " if "--check" in argv else "rewrote: ") + ", ".join(map(str, stale)))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
