"""aseanbot entry point: see `python bot.py --help`."""

import sys
from pathlib import Path

# Run from a plain checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from aseanbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
