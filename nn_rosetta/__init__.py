"""nn-rosetta's reading surface: each concept's three translations, read from the code.

``nn_rosetta.catalog`` finds a registered concept's definitions in ``reference``,
``torch_impl`` and ``tf_impl`` (by parsing the files, so torch and TensorFlow need not be
importable), ``nn_rosetta.parity`` summarises the last parity run, and ``nn_rosetta.cli``
is the ``nn-rosetta`` console script. The Markdown and HTML docs (``docs/``) are built
from the same catalog.

``nn_rosetta.port`` (in ``nn_rosetta.porting``) ports a Keras model to PyTorch: module,
source code and per-layer parity report; ``nn_rosetta.port_to_keras`` the other way, for
a torch ``nn.Sequential``. They import torch and TensorFlow, so they load on first use,
and the reading surface stays light.
"""


def __getattr__(name: str) -> object:
    if name in ("port", "port_to_keras", "Ported"):
        from nn_rosetta import porting

        return getattr(porting, name)
    raise AttributeError(f"module 'nn_rosetta' has no attribute {name!r}")
