"""The digest's chart: status counts over the last weeks, as a small PNG for email."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no screen on a server

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLOURS = {"green": "#2e9d4f", "orange": "#f0a020", "red": "#d64541"}


def status_chart(series: list[tuple[str, dict[str, int]]], labels: dict[str, str]) -> bytes:
    """Stacked bars, one per ISO week (oldest first), green at the bottom."""
    weeks = [w.split("-")[1] for w, _ in series]
    fig, ax = plt.subplots(figsize=(6, 2.4), dpi=100)
    try:
        bottom = [0] * len(series)
        for status in ("green", "orange", "red"):
            values = [counts.get(status, 0) for _, counts in series]
            ax.bar(
                weeks, values, bottom=bottom, color=COLOURS[status], label=labels[status], width=0.6
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.spines[["top", "right"]].set_visible(False)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=3, bbox_to_anchor=(0, 1.22))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
