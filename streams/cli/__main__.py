"""`python -m streams.cli`: the same as the `floorpulse` console script."""

import sys

from streams.cli import main

sys.exit(main())
