"""The live tests share the engine end-to-end helpers (a real daemon process on a short data home)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
