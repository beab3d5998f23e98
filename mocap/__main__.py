"""`python -m mocap` is the `mocap` command."""

import sys

from mocap.cli import main

sys.exit(main())
