"""``python -m alphintra.daemon``: the engine daemon in the foreground (what `alphintra engine start` spawns)."""

import sys

from alphintra.daemon.server import main

if __name__ == "__main__":  # not when a worker process imports it as __mp_main__
    sys.exit(main())
