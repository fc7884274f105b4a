"""``python -m cleanclf ...``: the same command line as the ``cleanclf`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
