"""``python -m nn_rosetta``: the ``nn-rosetta`` console script."""

import sys

from nn_rosetta.cli import main

sys.exit(main())
