"""``python -m alphintra.daemon``: the engine daemon in the foreground (what `alphintra engine start` spawns)."""

import sys

from alphintra.daemon.server import main

sys.exit(main())
