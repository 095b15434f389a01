"""nn-rosetta's reading surface: each concept's three translations, read from the code.

``nn_rosetta.catalog`` finds a registered concept's definitions in ``reference``,
``torch_impl`` and ``tf_impl`` (by parsing the files, so torch and TensorFlow need not be
importable), ``nn_rosetta.parity`` summarises the last parity run, and ``nn_rosetta.cli``
is the ``nn-rosetta`` console script. The Markdown and HTML docs (``docs/``) are built
from the same catalog.
"""
