"""Run the command line as ``python -m intake_earthscope``."""

import sys

from intake_earthscope.cli import main

if __name__ == "__main__":
    sys.exit(main())
