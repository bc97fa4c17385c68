"""Lets the toolkit's own test run import ``childrenbooks_sdk`` from here without installing it.
A copied SDK installs itself (``pip install -e '.[test]'``) and needs no conftest at all: the
fixtures ``cbk_respx`` and ``cbk_server`` come from the toolkit's pytest plugin."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
