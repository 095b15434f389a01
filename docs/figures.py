"""The docs' figures, drawn headless with matplotlib (Agg) from the spec, as reproducible SVG.

A :class:`Figure` belongs to a spec module and is drawn only when the registry has a
concept in that module: a page that does not exist yet gets no figure. The SVG carries no
date and no version, its element ids come from a fixed salt and its text stays text, so
the same code and the same pinned matplotlib give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure as Canvas

from reference import activations, registry

_REPRODUCIBLE = {"svg.hashsalt": "nn-rosetta", "svg.fonttype": "none", "font.size": 9.0,
                 "axes.titlesize": 10.0}
_COLOURS = {"function": "#1f77b4", "derivative": "#d62728"}


@dataclass(frozen=True)
class Figure:
    module: str  # the spec module it illustrates
    name: str  # docs/figures/<name>.svg
    draw: Callable[[], tuple[Canvas, str]]  # the figure and its caption (Markdown)


def activations_and_derivatives() -> tuple[Canvas, str]:
    """Each elementwise activation φ and the derivative φ' its backward pass uses."""
    z = np.linspace(-4.0, 4.0, 401)
    shown, skipped = [], []
    for concept in registry.concepts("activations"):
        act = activations.get(concept.name)
        try:
            shown.append((concept.name, act(z), act.derivative(z)))
        except TypeError:  # not elementwise (softmax): it has a vector-Jacobian product
            skipped.append(concept.name)
    columns = 4
    rows = -(-len(shown) // columns)
    figure = Canvas(figsize=(10.0, 2.3 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, sharex=True, squeeze=False).ravel()
    for ax, (name, value, slope) in zip(axes, shown, strict=False):
        ax.axhline(0.0, color="0.8", linewidth=0.8)
        ax.axvline(0.0, color="0.8", linewidth=0.8)
        for curve, style, label in ((value, "-", "function"), (slope, "--", "derivative")):
            curve = curve.copy()
            curve[1:][np.abs(np.diff(curve)) > 0.5] = np.nan  # no vertical line at a jump
            ax.plot(z, curve, style, color=_COLOURS[label], linewidth=1.6,
                    label={"function": "φ(z)", "derivative": "φ'(z)"}[label])
        ax.set_title(name)
        ax.set_xlim(-4.0, 4.0)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    axes[0].legend(loc="upper left", frameon=False)
    figure.supxlabel("z")
    caption = ("Each activation φ of `reference.activations` (solid) with the derivative φ' "
               "that its backward pass multiplies by (dashed), at the default parameters, "
               "on z in [−4, 4].")
    if skipped:
        caption += (f" Not drawn: {', '.join(f'`{n}`' for n in skipped)}, which couples its "
                    "inputs and so has a vector-Jacobian product instead of a derivative.")
    return figure, caption


FIGURES = (Figure("activations", "activations", activations_and_derivatives),)


def drawn(module: str) -> list[tuple[str, str, str]]:
    """``(name, caption, svg)`` of each figure for ``module`` whose module is registered."""
    registered = {c.module for c in registry.CONCEPTS}
    found = []
    for figure in FIGURES:
        if figure.module == module and module in registered:
            with matplotlib.style.context("default"), matplotlib.rc_context(_REPRODUCIBLE):
                canvas, caption = figure.draw()
                buffer = io.StringIO()
                canvas.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
            found.append((figure.name, caption, buffer.getvalue()))
    return found
