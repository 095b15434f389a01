"""How fast is the spec? One training step of the NumPy spec beside torch and TensorFlow.

``python -m benchmarks`` (or ``nox -s bench``) times forward, loss, backward and an SGD
update of small, medium and large MLPs in float32 and float64, for the spec, torch
eager, TF eager and TF under ``tf.function``; prints a table and writes
``build/bench/report.json`` and the scaling plot ``build/bench/scaling.png``.
``python -m benchmarks.profile_spec`` shows where the spec's step spends its time.
See ``benchmarks/README.md`` for what is measured and the latest results.
"""
