"""``python -m benchmarks``: the training-step benchmark (``--help`` for the options)."""

from benchmarks.cli import main

raise SystemExit(main())
