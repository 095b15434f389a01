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

import matplotlib.colors
import matplotlib.style
import numpy as np
from matplotlib.figure import Figure as Canvas

from reference import (
    Dense,
    Perceptron,
    Sequential,
    activations,
    fit,
    gradient_descent,
    optimizers,
    registry,
)

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
            # no vertical line at a jump (a step of 1); a steep curve (e^z up to 55) is no jump
            jump = 0.5 * max(1.0, float(np.max(np.abs(curve))) / 4.0)
            curve[1:][np.abs(np.diff(curve)) > jump] = np.nan
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


def perceptron_boundary() -> tuple[Canvas, str]:
    """Note 002's seven points and the line the Rosenblatt rule finds for them."""
    X, y = registry.NOTE_002_POINTS, registry.NOTE_002_LABELS
    p = Perceptron(learning_rate=1.0).fit(X, y, max_epochs=100)
    figure = Canvas(figsize=(4.6, 4.2), layout="constrained")
    ax = figure.subplots()
    grid = np.linspace(0.0, 1.0, 201)
    gx, gy = np.meshgrid(grid, grid)
    region = p.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
    w, b = p.weights, p.bias
    ax.plot(grid, -(w[0] * grid + b) / w[1], color="k", linewidth=1.2, label="w·x + b = 0")
    for label, marker, colour in ((0, "_", "#d62728"), (1, "+", "#1f77b4")):
        ax.scatter(*X[y == label].T, marker=marker, s=160, linewidths=2.5, color=colour,
                   label=f"label {label}")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="x₁", ylabel="x₂")
    ax.legend(loc="lower right", frameon=False)
    caption = (f"`reference.Perceptron` on note 002's seven points: converged after "
               f"{p.epochs_run} epochs with w = ({w[0]:g}, {w[1]:g}), b = {b:g}; every point "
               "lies on its side of the line (shading: what `predict` answers).")
    return figure, caption


def gradient_descent_learning_rates() -> tuple[Canvas, str]:
    """The iterates of note 002's (x − 2)² from x = 4 at three learning rates."""
    rates = ((0.01, "too small"), (0.3, "good"), (1.05, "too large"))
    figure = Canvas(figsize=(10.0, 3.0), layout="constrained")
    axes = figure.subplots(1, 3, sharey=False)
    for ax, (rate, verdict) in zip(axes, rates, strict=True):
        iterates = gradient_descent(lambda x: 2.0 * (x - 2.0), x0=4.0, learning_rate=rate,
                                    precision=1e-4, max_iters=25)
        span = max(4.0, float(np.max(np.abs(iterates - 2.0)))) * 1.1
        curve = np.linspace(2.0 - span, 2.0 + span, 301)
        ax.plot(curve, (curve - 2.0) ** 2, color="0.6", linewidth=1.0)
        ax.plot(iterates, (iterates - 2.0) ** 2, "o-", color="#1f77b4", markersize=3,
                linewidth=0.8)
        ax.set_title(f"η = {rate:g} ({verdict})\n{len(iterates) - 1} steps, "
                     f"last x = {iterates[-1]:.3g}")
        ax.set_xlabel("x")
    axes[0].set_ylabel("(x − 2)²")
    caption = ("`reference.gradient_descent` on (x − 2)² from x = 4, at most 25 steps: a small "
               "η creeps towards the minimum at 2, a good one reaches it, and η > 1 overshoots "
               "further at every step (each step multiplies x − 2 by 1 − 2η).")
    return figure, caption


def xor_loss_curves() -> tuple[Canvas, str]:
    """Note 004's 3-5-8-2 sigmoid network trained on XOR in the three frameworks."""
    import tf_impl  # first: it sets TF's environment before TensorFlow is imported
    import torch_impl

    def network() -> Sequential:
        return Sequential([Dense(3, 5, "sigmoid"), Dense(5, 8, "sigmoid"),
                           Dense(8, 2, "sigmoid")], seed=0)

    X, Y = registry.XOR_INPUTS, registry.XOR_TARGETS.astype(np.float64)
    run = {"loss": "mean_squared_error", "optimizer": optimizers.SGD(4.0), "epochs": 300,
           "batch_size": None, "seed": 0}
    curves = {"NumPy spec": fit(network(), X, Y, **run).loss,
              "PyTorch": torch_impl.fit(torch_impl.from_reference(network()), X, Y, **run).loss,
              "TensorFlow": tf_impl.fit(tf_impl.from_reference(network()), X, Y, **run,
                                        tf_function=True).loss}
    figure = Canvas(figsize=(6.0, 3.4), layout="constrained")
    ax = figure.subplots()
    for (name, loss), style, width in zip(curves.items(), ("-", "--", ":"), (4.0, 2.2, 1.4),
                                          strict=True):
        ax.plot(np.arange(1, len(loss) + 1), loss, style, linewidth=width, label=name)
    ax.set(yscale="log", xlabel="step (full batch)", ylabel="mean squared error")
    ax.legend(frameon=False)
    caption = ("Note 004's 3-5-8-2 sigmoid network learning XOR with plain SGD (η = 4, 300 "
               "full-batch steps, the same initial weights) in NumPy, PyTorch and TensorFlow: "
               "the three curves lie on top of each other (the parity suite holds them to "
               "1e-10 of each other in float64).")
    return figure, caption


def batchnorm_running_mean() -> tuple[Canvas, str]:
    """A BatchNorm running mean over one run under torch's and Keras's momentum."""
    from reference.normalization import BatchNormalization

    rng = np.random.default_rng(0)
    batches = 2.0 + rng.standard_normal((150, 16, 1))  # one feature of mean 2, batches of 16
    runs = {"torch's default, momentum 0.1 (weight of the new value)":
            BatchNormalization(1, 0.1, convention="torch"),
            "Keras's default, momentum 0.99 (weight of the old value)":
            BatchNormalization(1, 0.99, convention="keras"),
            "Keras with momentum=0.1 copied from torch":
            BatchNormalization(1, 0.1, convention="keras")}
    figure = Canvas(figsize=(7.0, 3.4), layout="constrained")
    ax = figure.subplots()
    steps = np.arange(1, len(batches) + 1)
    ax.plot(steps, batches.mean(axis=(1, 2)), ".", color="0.7", markersize=3,
            label="batch mean")
    for (label, layer), style in zip(runs.items(), ("-", "--", ":"), strict=True):
        means = []
        for x in batches:
            layer.forward(x, training=True)
            means.append(layer.state["moving_mean"][0])
        ax.plot(steps, means, style, linewidth=1.6, label=label)
    ax.axhline(2.0, color="0.8", linewidth=0.8)
    ax.set(xlabel="training step", ylabel="running mean", xlim=(0, len(batches)))
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    caption = ("The running mean of one BatchNorm feature (true mean 2, batches of 16, the "
               "spec's `BatchNormalization`) over one run. torch's momentum 0.1 weights the "
               "new batch and settles in about 20 steps; Keras's 0.99 weights the old value "
               "and has covered only ~78% of the way after 150 steps, so a model evaluated "
               "early normalises with statistics still near their initial 0. The same number "
               "0.1 given to Keras keeps 10% of the old value: the running mean then jumps "
               "with every batch. A port needs momentum = 1 − m.")
    return figure, caption


def same_padding_at_stride_2() -> tuple[Canvas, str]:
    """TF's "same" padding of an 8×8 input for a 3×3 kernel at stride 2, beside what a torch
    porter writes (symmetric padding=1) and what torch needs (an explicit pad)."""
    from matplotlib.patches import Rectangle

    from reference.convolution import same_padding

    size, kernel, stride = 8, 3, 2
    before, after = same_padding(size, kernel, stride)
    out = -(-size // stride)
    panels = (("Keras: padding=\"same\"", before, after, "#1f77b4"),
              ("torch: padding=1 (symmetric)", 1, 1, "#d62728"),
              (f"torch: F.pad(x, ({before}, {after}, {before}, {after})), padding=0",
               before, after, "#1f77b4"))
    figure = Canvas(figsize=(10.0, 3.8), layout="constrained")
    for ax, (title, top, bottom, colour) in zip(figure.subplots(1, 3), panels, strict=True):
        padded, shift = top + size + bottom, 1 - top  # the input at cells 1..8 in every panel
        for r in range(padded):
            for c in range(padded):
                real = top <= r < top + size and top <= c < top + size
                ax.add_patch(Rectangle((c + shift, r + shift), 1, 1,
                                       facecolor="white" if real else "0.82", edgecolor="0.6",
                                       linewidth=0.5))
        for r, c in ((0, 0), (out - 1, out - 1)):  # the first and the last window
            ax.add_patch(Rectangle((c * stride + shift + 0.08, r * stride + shift + 0.08),
                                   kernel - 0.16, kernel - 0.16, fill=False, edgecolor=colour,
                                   linewidth=2.0))
        ax.set_xlim(-0.5, 10.5)
        ax.set_ylim(10.5, -0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{title}\npads ({top}, {bottom}) per axis, {out}×{out} outputs",
                     fontsize=9)
    caption = (f"A 3×3 kernel at stride 2 on an 8×8 input (white; grey: padding), the first "
               f"and last windows outlined. TensorFlow's `\"same\"` needs "
               f"(⌈8/2⌉ − 1)·2 + 3 − 8 = {before + after} padded cell per axis and puts it "
               f"after: ({before}, {after}). torch's `padding=\"same\"` refuses a stride of 2, "
               "and the `padding=1` a porter writes instead pads both sides: the outputs have "
               "the same 4×4 shape, so nothing errors, but every window sits one cell up and "
               "left of TensorFlow's. The torch mirror pads explicitly by TensorFlow's rule "
               f"(`nn.ZeroPad2d(({before}, {after}, {before}, {after}))` before the "
               "`nn.Conv2d`); on a 9×9 input the padding is (1, 1), the convolution's own "
               "`padding=1`, and the two agree.")
    return figure, caption


def recurrent_gate_blocks() -> tuple[Canvas, str]:
    """The gate blocks of an LSTM's and a GRU's input kernel in the spec's (and Keras's)
    layout and in torch's, mapped by the weight-layout table's own transform."""
    from reference.layouts import Context, layout

    gates = {"LSTM": (("i", "f", "c", "o"), ("i", "f", "g", "o")),
             "GRU": (("z", "r", "h"), ("r", "z", "n"))}
    units, features = 2, 3
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    figure = Canvas(figsize=(8.0, 4.6), layout="constrained")
    axes = figure.subplots(2, 2, width_ratios=[2.2, 1.0])
    for row, (kind, (spec_names, torch_names)) in enumerate(gates.items()):
        blocks = len(spec_names)
        # each entry holds the number of the spec gate it belongs to
        kernel = np.repeat(np.arange(blocks, dtype=float), units)[None].repeat(features, 0)
        weight_row = next(r for r in layout(kind).rows if r.spec == "W")
        torch_weight = weight_row.to_torch.forward(kernel, Context((features,)))
        for ax, array, names, title in (
                (axes[row, 0], kernel, spec_names,
                 f"{kind}: spec W = Keras cell.kernel, (in, {blocks}H)"),
                (axes[row, 1], torch_weight, torch_names,
                 f"torch weight_ih_l0, ({blocks}H, in)")):
            ax.imshow(array, cmap=matplotlib.colors.ListedColormap(colours[:blocks]),
                      vmin=-0.5, vmax=blocks - 0.5, aspect="equal")
            along_columns = array.shape[1] > array.shape[0]
            for b in range(blocks):
                gate = int(array[0, b * units] if along_columns else array[b * units, 0])
                spot = ((b * units + (units - 1) / 2, (features - 1) / 2) if along_columns else
                        ((features - 1) / 2, b * units + (units - 1) / 2))
                ax.text(*spot, f"{names[b]}\n(spec {spec_names[gate]})" if names != spec_names
                        else names[b], ha="center", va="center", color="white", fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    caption = ("The gate blocks of a recurrent layer's input kernel (H = 2 units, 3 input "
               "features), placed by the weight-layout table's own transform "
               "(`reference.layouts`). The LSTM keeps its gate order (i, f, c/g, o) and is "
               "only transposed; the GRU's first two blocks swap, Keras's (z, r, h) becoming "
               "torch's (r, z, n). The recurrent kernel U follows the same rule; the biases "
               "split in two in torch (b_ih, b_hh).")
    return figure, caption


FIGURES = (
    Figure("activations", "activations", activations_and_derivatives),
    Figure("sequences", "recurrent-gate-blocks", recurrent_gate_blocks),
    Figure("perceptron", "perceptron-boundary", perceptron_boundary),
    Figure("optimizers", "gradient-descent-learning-rates", gradient_descent_learning_rates),
    Figure("training", "xor-loss-curves", xor_loss_curves),
    Figure("normalization", "batchnorm-running-mean", batchnorm_running_mean),
    Figure("convolution", "same-padding-at-stride-2", same_padding_at_stride_2),
)


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
