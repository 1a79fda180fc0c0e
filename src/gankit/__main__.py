"""`python -m gankit` (what `torchrun ... -m gankit train ...` runs)."""

import sys

from gankit.cli import main

sys.exit(main())
