"""`python -m minidns`: see minidns.cli."""

import sys

from minidns.cli import main

sys.exit(main())
