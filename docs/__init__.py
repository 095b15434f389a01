"""The docs generator: Markdown pages under ``docs/``, one HTML page under ``build/docs/``.

Run ``python -m docs.build`` (or ``nox -s docs``). Everything is generated from the
registry, the packages' source and the parity snapshot ``docs/parity-summary.json``.
"""
