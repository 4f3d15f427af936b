"""`python -m opscheck`: the same as the `opscheck` command."""

import sys

from opscheck.cli import main

sys.exit(main())
