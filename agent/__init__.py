"""Customer health agent: keeps a customer success team's sheet honest."""

from __future__ import annotations

__version__ = "0.1.0"
