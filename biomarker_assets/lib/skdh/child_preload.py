"""Imported once by the containment forkserver (``isolation.PRELOAD``): what every file's child would import.

Each child forks from the forkserver, so whatever is imported here is paid once per run process
instead of once per file: SKDH, Arrow's Parquet writer, and Matplotlib with the overview plot's
Agg backend (``overview_plot`` imports it on first use, which would be every child's first use).
One small plot is drawn here too: Matplotlib finds and loads its fonts on the first text it lays
out (0.2-0.3 s), and every child would otherwise pay that again.
"""

import matplotlib
import pyarrow.parquet
import skdh

matplotlib.use("Agg")

from matplotlib import pyplot  # noqa: E402  # after the backend is chosen, as overview_plot does


def _warm_fonts() -> None:
    """Lay out and render text once, so the fonts are loaded before any child forks."""
    import io

    fig, ax = pyplot.subplots(figsize=(2, 1), dpi=48)
    ax.plot([0, 1], [0, 1])
    ax.set_title("warm-up")
    ax.set_xlabel("hours")
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png")
    pyplot.close(fig)


_warm_fonts()

__all__ = ["pyarrow", "pyplot", "skdh"]
