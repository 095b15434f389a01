"""The five source notes the project was built from, named: what each is and where it points.

The docs cite the notes by number ("note 002"); ``docs/notes.md`` is generated from
``NOTES`` and every such citation in the docs, the README and the CLI points there. The
descriptions are the project's own words; the links are the ones the notes give
themselves (pictures left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE = "docs/notes.md"


@dataclass(frozen=True)
class Note:
    number: str  # "000"
    file: str  # its file among the notes
    source: str  # the course, talk or kind of text it comes from
    topics: str
    links: tuple[tuple[str, str], ...]  # (what it is, address)

    @property
    def anchor(self) -> str:
        return f"note-{self.number}"


_3B1B = "3Blue1Brown, \"Neural networks\" video series"
NOTES: tuple[Note, ...] = (
    Note("000", "000_62d704062747d1bf.txt",
         "Lecture notes taken while following MIT's Introduction to Deep Learning video "
         "series (6.S191), with TensorFlow snippets",
         "the perceptron's forward pass; sigmoid, tanh and ReLU with their derivatives; "
         "several outputs as a Keras `Dense` layer; a network with one hidden layer; "
         "empirical loss, binary cross-entropy and mean squared error in TensorFlow; "
         "gradient descent with a `tf.GradientTape` loop",
         (("MIT Introduction to Deep Learning, the lecture playlist",
           "https://www.youtube.com/watch?v=ErnWZxJovaM&list=PLtBw6njQRU-rwp5__7C0oIVt26ZgjG9NI"),
          (f"{_3B1B}: backpropagation calculus", "https://www.youtube.com/watch?v=tIeHLnjs5U8"))),
    Note("001", "001_f3cb098dc25004fa.txt",
         "A self-contained write-up on neural networks (it names no course)",
         "the perceptron with a step and a sigmoid activation, the bias as an extra input, "
         "the squared loss and its gradient worked out with Jacobians, the learning rate; "
         "headings for Jacobians, the chain rule and the computational graph, left empty",
         ()),
    Note("002", "002_13f528dbcc5ac5f2.txt",
         "A multi-lesson introductory deep-learning track with exercises",
         "linear models and hyperplanes; the Rosenblatt perceptron in NumPy and its failure "
         "on XOR; activation functions; feedforward networks; mean squared error with "
         "1/(2n) and cross-entropy; gradient descent by hand on (x − 2)²; the four "
         "equations of backpropagation",
         (("Neural Networks and Deep Learning (Nielsen), chapter 2",
           "http://neuralnetworksanddeeplearning.com/chap2.html"),
          (f"{_3B1B}: what a neural network is",
           "https://www.youtube.com/watch?v=aircAruvnKk&t=0s&index=2&list="
           "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi"),
          (f"{_3B1B}: what backpropagation does", "https://www.youtube.com/watch?v=Ilg3gGewQ5U"),
          (f"{_3B1B}: backpropagation calculus", "https://www.youtube.com/watch?v=tIeHLnjs5U8"),
          ("Deep learning from scratch IV: gradient descent and backpropagation",
           "http://www.deepideas.net/deep-learning-from-scratch-iv-gradient-descent-and-"
           "backpropagation/"),
          ("BetterExplained: the dot product",
           "https://betterexplained.com/articles/vector-calculus-understanding-the-dot-product/"),
          ("BetterExplained: the chain rule",
           "https://betterexplained.com/articles/derivatives-product-power-chain/"),
          ("MathWorld: hyperplane", "http://mathworld.wolfram.com/Hyperplane.html"),
          ("Wikipedia: universal approximation theorem",
           "https://en.wikipedia.org/wiki/Universal_approximation_theorem"))),
    Note("003", "003_63915c7e8673ae89.txt",
         "Study notes on the basics of neural networks (they name no course)",
         "neurons; ReLU, leaky ReLU, ELU, sigmoid, tanh and softmax; a one-neuron "
         "classifier made by hand; MSE, MSLE, MAE, binary and multi-class cross-entropy; "
         "the chain rule; SGD; a per-sample training loop that diverges",
         ()),
    Note("004", "004_2bdee59a95b75d18.txt",
         "A lesson of a course repository that builds a network in NumPy (it refers to its "
         "`np-nn/network.py`) and then in PyTorch",
         "the perceptron with a step function; forward pass, loss and the intuition of "
         "backpropagation; a modular NumPy network whose layers have `forward` and "
         "`backward`; a PyTorch `nn.Module` Linear(3, 5) → Linear(5, 8) → Linear(8, 2) with "
         "sigmoids on XOR-like data",
         ((f"{_3B1B}: what a neural network is", "https://www.youtube.com/watch?v=aircAruvnKk"),)),
)

# "note 002", "notes 002/003", "Notes 000, 001 and 004": a citation and its numbers
CITATION = re.compile(r"\b([Nn]otes?)((?:(?:,? and |, |/| or | )\d{3}\b)+)")
NUMBER = re.compile(r"\b\d{3}\b")


def find(number: str) -> Note:
    """The note numbered ``number`` ("000"); KeyError if none, as ``catalog.find`` (a bare
    StopIteration escaped before, which a generator turns into a RuntimeError)."""
    if not isinstance(number, str):  # an array: NumPy's "truth value ... is ambiguous"
        raise TypeError(f"notes.find: number must be a str such as '000', got "
                        f"{type(number).__name__} {number!r:.60}")
    found = [n for n in NOTES if n.number == number]
    if not found:
        raise KeyError(f"no note {number!r}; the notes are 000–{NOTES[-1].number}")
    return found[0]


def legend() -> str:
    """One line for a terminal: where the numbers lead."""
    return (f"notes 000–{NOTES[-1].number}: the source notes; `nn-rosetta notes` says what "
            f"each is ({PAGE})")
