"""The seed articles: loaded once, marked ``is_seed``, the reference corpus."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from newswatch import settings
from newswatch.textnorm import strip_plaintext_chrome

SEEDS_DIR = settings.SEEDS_DIR


@dataclass(frozen=True)
class Seed:
    name: str  # file stem
    title: str
    outlet: str
    author: str | None
    published_at: datetime | None
    language: str
    url: str  # original URL, or seed:<name>
    raw_text: str

    @property
    def text(self) -> str:
        """The article without the saved page's menus and footers."""
        return strip_plaintext_chrome(self.raw_text)


def load_seeds(seeds_dir: Path = SEEDS_DIR) -> list[Seed]:
    manifest = tomllib.loads((seeds_dir / "manifest.toml").read_text("utf-8"))
    seeds = []
    for item in manifest["seed"]:
        path = seeds_dir / item["file"]
        date = item.get("date")
        seeds.append(
            Seed(
                name=path.stem,
                title=item["title"],
                outlet=item["outlet"],
                author=item.get("author"),
                published_at=datetime.fromisoformat(date).replace(tzinfo=timezone.utc) if date else None,
                language=item.get("language", "en"),
                url=item.get("url") or f"seed:{path.stem}",
                raw_text=path.read_text("utf-8"),
            )
        )
    return seeds
