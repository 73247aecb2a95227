"""`python -m aseanbot` is the same as `python bot.py`."""

import sys

from aseanbot.cli import main

sys.exit(main())
