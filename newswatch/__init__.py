"""newswatch: a news monitor for Japan–North Korea relations."""

from pathlib import Path

__version__ = "0.1.0"

#: The folder that holds newswatch's packages (newswatch, flows, monitors, warehouse, seeds)
#: and so their data: the project folder in a source checkout, site-packages when newswatch
#: is installed from a wheel.
PACKAGES_DIR = Path(__file__).resolve().parent.parent

#: The project folder of a source checkout (the one with pyproject.toml), or None when
#: newswatch runs from an installed wheel.
CHECKOUT_DIR: Path | None = PACKAGES_DIR if (PACKAGES_DIR / "pyproject.toml").is_file() else None
