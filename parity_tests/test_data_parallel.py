"""Data-parallel training on the frameworks' own engines, held to the spec's full batch.

Two replicas each take a shard of the batch: torch as 2 gloo ranks under
``DistributedDataParallel`` (``torch.multiprocessing.spawn``), TF as 2 replicas of
``MirroredStrategy`` on 2 logical CPU devices, in a custom loop and in Keras ``fit``.
Each framework runs in a worker process of its own (``data_parallel_worker.py``), which
computes every case once; the three workers (torch, TF, and a torch run with a rank
killed) run side by side, each in its own process group, under one timeout.

Against the spec's single-process full-batch run (``reference.fit``, batch_size None):
one step's loss and gradients, and the losses and final weights of ``EPOCHS`` steps, on
8 rows (4 + 4) and on 7 (4 + 3: the uneven last shard), float64 and float32.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import reference
from parity_tests import data_parallel_worker as worker
from parity_tests.report import Recorder
from parity_tests.tolerances import tolerance
from reference import parallel
from reference.optimizers import SGD

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 150  # all three workers together; they take about 15 s on an idle 2-core machine
KILLED_RANK = 1


@dataclass
class Run:
    """A finished worker: its exit status, stderr, wall time and results (None if it failed)."""

    name: str
    returncode: int | None  # None: it ran past the timeout and its process group was killed
    stderr: str
    seconds: float
    leftovers: bool  # a process of its group outlived it (then killed)
    results: dict[str, np.ndarray] | None

    def require(self) -> dict[str, np.ndarray]:
        how = (f"ran past {TIMEOUT_S} s and its process group was killed"
               if self.returncode is None else f"failed (exit {self.returncode})")
        assert self.returncode == 0 and self.results is not None, (
            f"the {self.name} worker {how}:\n{self.stderr[-3000:]}")
        return self.results


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _outlived(pgid: int, grace_s: float = 5.0) -> bool:
    """Whether a process of the group is still there ``grace_s`` after its leader ended.

    multiprocessing's resource tracker sees its parent's end and exits by itself, a
    moment later; anything alive after the grace period is an orphan.
    """
    deadline = time.monotonic() + grace_s
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)
    return False


def _run_workers(runs: dict[str, list[str]], out: Path) -> dict[str, Run]:
    """Start every worker in a new session (its own process group) and wait for all."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    started, finished = time.monotonic(), {}
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "parity_tests.data_parallel_worker", *args, str(out / name)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True) for name, args in runs.items()}
    try:
        for name, proc in procs.items():
            try:
                _, stderr = proc.communicate(timeout=max(1.0, started + TIMEOUT_S
                                                         - time.monotonic()))
                returncode = proc.returncode
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                _, stderr = proc.communicate()
                returncode = None
            leftovers = _outlived(proc.pid)
            if leftovers:
                os.killpg(proc.pid, signal.SIGKILL)
            path = out / f"{name}.npz"
            results = dict(np.load(path)) if returncode == 0 and path.is_file() else None
            finished[name] = Run(name, returncode, stderr, time.monotonic() - started,
                                 leftovers, results)
    finally:
        for proc in procs.values():  # a failure above leaves nothing running either
            if proc.poll() is None or _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return finished


@pytest.fixture(scope="module")
def workers(tmp_path_factory) -> dict[str, Run]:
    return _run_workers({"torch": ["torch"], "tf": ["tf"],
                         "killed": ["torch", "--kill-rank", str(KILLED_RANK)]},
                        tmp_path_factory.mktemp("data_parallel"))


@dataclass(frozen=True)
class Spec:
    loss: float
    gradient: np.ndarray
    losses: list[float]
    weights: np.ndarray


def _spec(dtype: str, split: str) -> Spec:
    """The spec's single-process full-batch run: one backward pass, then ``reference.fit``."""
    X, Y = worker.data(split, dtype)
    model = worker.model(dtype)
    y_pred = model.forward(X)
    model.backward(reference.losses.gradient(worker.LOSS)(Y, y_pred))
    gradient = worker.flat(g for pair in model.grads for g in pair)
    loss = reference.losses.get(worker.LOSS)(Y, y_pred)
    model = worker.model(dtype)
    history = reference.fit(model, X, Y, worker.LOSS, SGD(worker.LEARNING_RATE),
                            worker.EPOCHS, batch_size=None)
    return Spec(loss, gradient, history.loss, worker.flat_weights(model))


DTYPES = [pytest.param(d, id=d) for d in worker.DTYPES]
SPLITS = [pytest.param(s, id=f"{s} split") for s in worker.SPLITS]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_one_step_gives_the_full_batch_loss_and_gradient(workers, framework, dtype,
                                                         split) -> None:
    results, spec = workers[framework].require(), _spec(dtype, split)
    key = f"{framework}/{dtype}/{split}"
    check = Recorder("data parallelism", f"one step, {split} split", framework, dtype,
                     worker.SPLITS[split])
    check.compare("loss", "loss", results[f"{key}/loss"], spec.loss)
    check.compare("gradient", "gradient", results[f"{key}/gradient"], spec.gradient)
    check.finish()


# Keras fit gives the full batch on an even split only: on an uneven one see
# test_keras_fit_averages_the_slices_means_on_an_uneven_batch.
LOOPS = [pytest.param(loop, dtype, split, id=f"{loop}-{dtype}-{split} split")
         for loop in ("torch DDP", "tf custom loop", "keras fit") for dtype in worker.DTYPES
         for split in worker.SPLITS if (loop, split) != ("keras fit", "uneven")]


@pytest.mark.parametrize(("loop", "dtype", "split"), LOOPS)
def test_training_follows_the_full_batch_trajectory(workers, loop, dtype, split) -> None:
    framework = "torch" if loop == "torch DDP" else "tf"
    results, spec = workers[framework].require(), _spec(dtype, split)
    key = f"{framework}/{dtype}/{split}/" + {"torch DDP": "", "tf custom loop": "custom ",
                                             "keras fit": "keras fit "}[loop]
    check = Recorder("data parallelism", f"{loop}, {split} split", framework, dtype,
                     worker.SPLITS[split])
    check.compare(f"losses of {worker.EPOCHS} steps", "loss trajectory", results[f"{key}losses"],
                  spec.losses)
    check.compare("final weights", "weight trajectory", results[f"{key}weights"], spec.weights)
    check.finish()


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_an_l2_term_counts_once_over_the_replicas(workers, framework) -> None:
    """λ‖W‖² does not depend on the rows: the full batch holds it once, not once per
    replica nor not at all (TF's custom loop left ``model.losses`` out; torch took no
    ``l2``)."""
    results = workers[framework].require()
    X, Y = worker.data("uneven", "float64")
    model = worker.regularized_model()
    y_pred = model.forward(X, training=True)
    model.backward(reference.losses.gradient(worker.LOSS)(Y, y_pred))
    loss = reference.losses.get(worker.LOSS)(Y, y_pred) + model.regularization_loss()
    gradient = worker.flat(g for pair in model.grads for g in pair)
    model = worker.regularized_model()
    history = reference.fit(model, X, Y, worker.LOSS, SGD(worker.LEARNING_RATE),
                            worker.EPOCHS, batch_size=None)
    key = f"{framework}/float64/uneven/l2 "
    for quantity, kind, expected in (("loss", "loss", loss), ("gradient", "gradient", gradient),
                                     ("losses", "loss trajectory", history.loss),
                                     ("weights", "weight trajectory",
                                      worker.flat_weights(model))):
        tol = tolerance("float64", kind)
        assert tol.error(results[key + quantity], expected) <= tol.rtol, quantity


def _keras_global_clip(grads: list[np.ndarray], c: float) -> list[np.ndarray]:
    """Keras's ``clip_by_global_norm``: g · c·min(1/‖G‖, 1/c)."""
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    return [g * (c * min(1.0 / norm, 1.0 / c)) for g in grads]


def test_keras_clips_each_replicas_share_of_the_gradient_before_the_sum(workers) -> None:
    """Why ``tf_impl.parallel`` refuses a clipping optimizer on several replicas: one SGD
    step with ``global_clipnorm`` on 7 rows (slices 0–3 and 4–6) moves the weights by
    η Σ_r clip(g_r), each slice's share g_r = (n_r/N)·∇L_r clipped alone, not by
    η clip(Σ_r g_r), the full batch's step (the spec's, torch's after DDP's all-reduce)."""
    weights = workers["tf"].require()["tf/float64/uneven/clipped weights"]
    X, Y = worker.data("uneven", "float64")
    shares = [[len(rows) / len(X) * g for g in parallel.data_parallel_gradient(
        worker.model("float64"), X[rows], Y[rows], worker.LOSS, 1)[1]]
        for rows in (np.arange(0, 4), np.arange(4, 7))]
    per_replica = [a + b for a, b in zip(*(_keras_global_clip(s, worker.CLIP) for s in shares),
                                         strict=True)]
    start = worker.flat_weights(worker.model("float64"))
    full_batch = worker.model("float64")
    reference.fit(full_batch, X, Y, worker.LOSS, SGD(worker.LEARNING_RATE,
                                                     global_clipnorm=worker.CLIP,
                                                     convention="keras"), 1, batch_size=None)
    tol = tolerance("float64", "weight trajectory")
    assert tol.error(weights, start - worker.LEARNING_RATE * worker.flat(per_replica)) \
        <= tol.rtol
    assert tol.error(weights, worker.flat_weights(full_batch)) > 1e-3


def test_keras_fit_on_three_replicas_scales_the_loss_by_float32s_third(workers) -> None:
    """Why ``tf_impl.parallel`` refuses ``keras_fit`` in float64 on 3 replicas: Keras fit
    multiplies each replica's loss by ``ops.cast(1.0 / 3, "float64")``, and the Python
    float goes through float32 (0.3333333432…): one SGD step on 9 rows (3 + 3 + 3) is the
    spec's full-batch step at η·3·float32(1/3), not at η."""
    weights = workers["tf"].require()["tf/float64/keras fit 3 replicas weights"]
    X, Y = worker.rows(worker.THREE_REPLICAS_ROWS, "float64")
    tol = tolerance("float64", "weight trajectory")
    for scale, matches in ((3 * float(np.float32(1 / 3)), True), (1.0, False)):
        spec = worker.model("float64")  # torch's convention: η exactly, not float32's
        reference.fit(spec, X, Y, worker.LOSS, SGD(worker.LEARNING_RATE * scale), 1,
                      batch_size=None)
        assert (tol.error(weights, worker.flat_weights(spec)) <= tol.rtol) == matches, scale


def _gradients_agree(dtype: str, actual: np.ndarray, expected: np.ndarray) -> bool:
    tol = tolerance(dtype, "gradient")
    return tol.error(actual, expected) <= tol.rtol


def test_torch_mistake_dividing_the_mean_loss_by_the_world_size_halves_the_gradient(
        workers) -> None:
    results, spec = workers["torch"].require(), _spec("float64", "even")
    right, wrong = (results[f"torch/float64/even/{q}"] for q in ("gradient", "mistake gradient"))
    assert _gradients_agree("float64", right, spec.gradient)
    assert not _gradients_agree("float64", wrong, spec.gradient)
    assert _gradients_agree("float64", wrong, spec.gradient / worker.WORLD_SIZE)


def test_tf_mistake_averaging_per_replica_multiplies_the_gradient_by_the_replicas(
        workers) -> None:
    results, spec = workers["tf"].require(), _spec("float64", "even")
    right, wrong = (results[f"tf/float64/even/{q}"] for q in ("gradient", "mistake gradient"))
    assert _gradients_agree("float64", right, spec.gradient)
    assert not _gradients_agree("float64", wrong, spec.gradient)
    assert _gradients_agree("float64", wrong, spec.gradient * worker.WORLD_SIZE)


def _spec_sgd(X: np.ndarray, Y: np.ndarray, batches: list[list[np.ndarray]]) -> np.ndarray:
    """Spec SGD where a step's gradient is the plain average of its slices' gradients."""
    model = worker.model("float64")
    params = [p for pair in model.params for p in pair]
    optimizer = SGD(worker.LEARNING_RATE)
    state = optimizer.init(params)
    for slices in batches:
        grads = [np.mean(gs, axis=0) for gs in zip(*(
            parallel.data_parallel_gradient(model, X[rows], Y[rows], worker.LOSS, 1)[1]
            for rows in slices), strict=True)]
        optimizer.step(params, grads, state)
    return worker.flat_weights(model)


def test_keras_fit_averages_the_slices_means_on_an_uneven_batch(workers) -> None:
    """7 rows in batches of 4: the last batch, 3 rows, splits into slices of 2 and 1.

    Keras scales each replica's mean loss by 1/2, so that step's gradient is the plain
    average of the slices' mean gradients (the lone row counts 1/2, not 1/3): not the
    spec's mini-batch step, which ``reference.fit`` takes, but the spec's average of means.
    """
    keras_weights = workers["tf"].require()["tf/float64/uneven/keras fit batches of 4 weights"]
    X, Y = worker.data("uneven", "float64")
    spec = worker.model("float64")
    reference.fit(spec, X, Y, worker.LOSS, SGD(worker.LEARNING_RATE), 1,
                  batch_size=worker.KERAS_FIT_BATCH, seed=None)
    average_of_means = _spec_sgd(X, Y, [[np.arange(0, 2), np.arange(2, 4)],
                                        [np.arange(4, 6), np.arange(6, 7)]])
    tol = tolerance("float64", "weight trajectory")
    assert tol.error(keras_weights, worker.flat_weights(spec)) > 1e-4
    assert tol.error(keras_weights, average_of_means) <= tol.rtol


def test_keras_fit_stops_when_its_first_batch_splits_unevenly(workers) -> None:
    """fit builds the model on the first batch averaged over the replicas: 4 and 3 rows."""
    message = str(workers["tf"].require()["tf/keras fit first batch uneven"])
    assert "must have the same size and shape" in message and "[4,3] != input 1: [3,3]" in message


def test_compute_average_loss_needs_the_global_batch_size_on_an_uneven_split(workers) -> None:
    """Without it, each replica divides by its own rows times 2 (4·2 and 3·2, not 7)."""
    results = workers["tf"].require()
    X, Y = worker.data("uneven", "float64")
    spec, mse = worker.model("float64"), reference.losses.mean_squared_error
    full = mse(Y, spec.forward(X))
    slice_means = (mse(Y[:4], spec.forward(X[:4])) + mse(Y[4:], spec.forward(X[4:]))) / 2
    tol = tolerance("float64", "loss")
    by_default = results["tf/float64/uneven/compute_average_loss default"]
    assert tol.error(results["tf/float64/uneven/compute_average_loss global batch"],
                     full) <= tol.rtol
    assert tol.error(by_default, slice_means) <= tol.rtol
    assert tol.error(by_default, full) > 1e-3


def test_the_shards_of_seven_rows_on_two_replicas() -> None:
    """Spec and torch deal rows out in turn; torch's sampler repeats row 0 to even them out."""
    from torch_impl import parallel as torch_parallel

    assert [r.tolist() for r in parallel.shard_rows(7, 2)] == [[0, 2, 4, 6], [1, 3, 5]]
    assert [r.tolist() for r in torch_parallel.shard_rows(7, 2)] == [[0, 2, 4, 6], [1, 3, 5, 0]]


def test_tf_slices_a_batch_of_seven_rows_into_consecutive_four_and_three(workers) -> None:
    assert workers["tf"].require()["tf/shard rows 7"].tolist() == [[0, 1, 2, 3], [4, 5, 6, -1]]


def test_a_killed_rank_fails_the_run_in_bounded_time_naming_the_rank(workers) -> None:
    killed = workers["killed"]
    assert killed.returncode not in (0, None), (
        f"expected the worker to fail by itself within {TIMEOUT_S} s, got exit "
        f"{killed.returncode}:\n{killed.stderr[-2000:]}")
    assert f"rank {KILLED_RANK} of {worker.WORLD_SIZE} died (signal SIGKILL)" in killed.stderr
    assert not killed.leftovers, "a process of the killed run outlived it"


def test_no_worker_leaves_a_process_behind(workers) -> None:
    assert not [run.name for run in workers.values() if run.leftovers]
