"""newswatch: a news monitor for Japan–North Korea relations."""

from pathlib import Path

__version__ = "0.1.0"

#: The project folder: seeds, the default feed list and the default warehouse live here.
PROJECT_DIR = Path(__file__).resolve().parent.parent
