"""`python -m opscheck.cli`: the same as the `opscheck` command."""

import sys

from opscheck.cli import main

sys.exit(main())
