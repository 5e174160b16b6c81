"""The two ways a site runs: this project's programs, or FRR and PowerDNS as the original lab."""

from __future__ import annotations

from typing import Literal

Mode = Literal["python", "reference"]
MODES: tuple[Mode, ...] = ("python", "reference")
