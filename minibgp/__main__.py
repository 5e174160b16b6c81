"""`python -m minibgp`: see minibgp.cli."""

import sys

from minibgp.cli import main

sys.exit(main())
