"""The distributed side of ``test_data_parallel.py``, run in a process of its own.

``python -m parity_tests.data_parallel_worker torch|tf OUT.npz [--kill-rank R]``

* ``torch``: ``torch.multiprocessing.spawn`` starts 2 ranks, which join a gloo process
  group on 127.0.0.1 (a free port) and run every case; rank 0 writes the results.
  ``--kill-rank R``: rank R kills itself (SIGKILL) before its first collective, as a
  crashed machine would; spawn then ends the other rank and the worker exits with a
  message naming the rank.
* ``tf``: 2 logical CPU devices (configured before TF touches its devices, which is why
  this is a process of its own) and one ``MirroredStrategy`` over them.

Every case is computed in one run per framework (TF's start-up is seconds), and the
results go back as one ``.npz``: gradients and weights flat in the spec's layout
(W as (in, out), then b, layer by layer), keyed ``framework/dtype/split/quantity``.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
from datetime import timedelta

import numpy as np

import reference
from reference.optimizers import SGD

WORLD_SIZE = 2
SPLITS = {"even": 8, "uneven": 7}  # rows in the full batch: 4 + 4, and 4 + 3
DTYPES = ("float64", "float32")
EPOCHS = 4
LOSS = "mean_squared_error"
LEARNING_RATE = 0.5  # a power of two: Keras's float32 η is exact, one trajectory for both
KERAS_FIT_BATCH = 4  # Keras fit on 7 rows in batches of 4: the last (3 rows) splits 2 + 1
THREE_REPLICAS_ROWS = 9  # 3 + 3 + 3: even slices, so that only Keras's 1/3 is at stake
CLIP = 0.05  # global_clipnorm below every gradient's norm here: each step is clipped
COLLECTIVE_TIMEOUT_S = 20  # gloo's wait for a missing peer


def model(dtype: str) -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 4, "tanh", dtype=dtype),
                                 reference.Dense(4, 2, "sigmoid", dtype=dtype)], seed=0)


L2 = 0.0625  # λ of the regularized model's first kernel: a power of two, exact in float32


def regularized_model() -> reference.Sequential:
    """The model with an L2 term λ‖W¹‖², whose gradient 2λW¹ the replicas must count once."""
    return reference.Sequential([reference.Dense(3, 4, "tanh", kernel_regularizer=L2),
                                 reference.Dense(4, 2, "sigmoid")], seed=0)


def data(split: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    return rows(SPLITS[split], dtype)


def rows(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype(dtype), rng.uniform(size=(n, 2)).astype(dtype)


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def flat_weights(spec: reference.Sequential) -> np.ndarray:
    return flat(p for pair in spec.params for p in pair)


# --- torch: two ranks ---

def _torch_rank(rank: int, port: int, out: str, kill_rank: int | None) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    import torch_impl
    from torch_impl import losses, parallel

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE,
                            timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    if rank == kill_rank:
        os.kill(os.getpid(), signal.SIGKILL)
    results = {}
    for dtype in DTYPES:
        for split in SPLITS:
            X, Y = data(split, dtype)
            key = f"torch/{dtype}/{split}"
            value, grads = parallel.data_parallel_gradient(
                torch_impl.from_reference(model(dtype)), X, Y, LOSS)
            # torch's weight is (out, in): transposed to the spec's (in, out).
            results[f"{key}/loss"] = value
            results[f"{key}/gradient"] = flat(g.T if g.ndim == 2 else g for g in grads)
            module = torch_impl.from_reference(model(dtype))
            history = parallel.data_parallel_fit(module, X, Y, LOSS, SGD(LEARNING_RATE),
                                                 EPOCHS)
            results[f"{key}/losses"] = history.loss
            results[f"{key}/weights"] = flat_weights(torch_impl.to_reference(module))

    # L2 through ``l2``: every rank adds the whole term, DDP's average keeps it whole.
    X, Y = data("uneven", "float64")
    module = torch_impl.from_reference(regularized_model())
    l2 = torch_impl.convert.l2_penalties(regularized_model(), module)
    value, grads = parallel.data_parallel_gradient(module, X, Y, LOSS, l2=l2)
    results["torch/float64/uneven/l2 loss"] = value
    results["torch/float64/uneven/l2 gradient"] = flat(g.T if g.ndim == 2 else g for g in grads)
    module = torch_impl.from_reference(regularized_model())
    history = parallel.data_parallel_fit(module, X, Y, LOSS, SGD(LEARNING_RATE), EPOCHS, l2=l2)
    results["torch/float64/uneven/l2 losses"] = history.loss
    results["torch/float64/uneven/l2 weights"] = flat_weights(torch_impl.to_reference(module))

    # The classic mistake: the mean loss divided by the world size, which DDP divides again.
    X, Y = data("even", "float64")
    ddp = DistributedDataParallel(torch_impl.from_reference(model("float64")))
    x, y = (torch.from_numpy(a[rank::WORLD_SIZE]) for a in (X, Y))
    (losses.mean_squared_error(y, ddp(x)) / WORLD_SIZE).backward()
    results["torch/float64/even/mistake gradient"] = flat(
        p.grad.T if p.ndim == 2 else p.grad for p in ddp.parameters())
    if rank == 0:
        np.savez(out, **results)
    # Every DDP wrapper (and its reducer's hooks) is freed, and both ranks are done, before
    # the group goes: a reducer outliving its group aborts the process at exit.
    del ddp
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_torch(out: str, kill_rank: int | None) -> None:
    import torch.multiprocessing as mp

    try:
        mp.spawn(_torch_rank, args=(_free_port(), out, kill_rank), nprocs=WORLD_SIZE)
    except mp.ProcessExitedException as exited:
        how = (f"signal {exited.signal_name}" if exited.signal_name
               else f"exit code {exited.exit_code}")
        sys.exit(f"data-parallel worker: rank {exited.error_index} of {WORLD_SIZE} died "
                 f"({how}); the other ranks were ended")
    except mp.ProcessRaisedException as raised:
        sys.exit(f"data-parallel worker: rank {raised.error_index} of {WORLD_SIZE} raised:\n"
                 f"{raised}")


# --- TensorFlow: one process, two replicas ---

def run_tf(out: str) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(  # a third for Keras fit's 1/3 below
        cpu, [tf.config.LogicalDeviceConfiguration()] * (WORLD_SIZE + 1))
    import keras

    import tf_impl
    from tf_impl import parallel

    strategy = tf.distribute.MirroredStrategy([f"/cpu:{k}" for k in range(WORLD_SIZE)])
    results = {}
    for dtype in DTYPES:
        for split in SPLITS:
            X, Y = data(split, dtype)
            key = f"tf/{dtype}/{split}"
            with strategy.scope():
                keras_model = tf_impl.from_reference(model(dtype))
            value, grads = parallel.data_parallel_gradient(keras_model, X, Y, LOSS, strategy)
            results[f"{key}/loss"] = value
            results[f"{key}/gradient"] = flat(g.numpy() for g in grads)
            for loop, keras_fit in (("custom", False), ("keras fit", True)):
                if keras_fit and split == "uneven":
                    continue  # fit stops at its build: see keras fit uneven below
                # fit's History comes from a Mean metric of dtype floatx: float64 for float64.
                keras.config.set_floatx(dtype)
                with strategy.scope():
                    keras_model = tf_impl.from_reference(model(dtype))
                history = parallel.data_parallel_fit(keras_model, X, Y, LOSS,
                                                     SGD(LEARNING_RATE, convention="keras"),
                                                     EPOCHS, strategy, keras_fit=keras_fit)
                keras.config.set_floatx("float32")
                results[f"{key}/{loop} losses"] = history.loss
                results[f"{key}/{loop} weights"] = flat_weights(
                    tf_impl.to_reference(keras_model))

    # L2 (model.losses): each replica adds 1/W of it, the sum over the replicas holds it once.
    X, Y = data("uneven", "float64")
    with strategy.scope():
        keras_model = tf_impl.from_reference(regularized_model())
    value, grads = parallel.data_parallel_gradient(keras_model, X, Y, LOSS, strategy)
    results["tf/float64/uneven/l2 loss"] = value
    results["tf/float64/uneven/l2 gradient"] = flat(g.numpy() for g in grads)
    with strategy.scope():
        keras_model = tf_impl.from_reference(regularized_model())
    history = parallel.data_parallel_fit(keras_model, X, Y, LOSS,
                                         SGD(LEARNING_RATE, convention="keras"), EPOCHS, strategy)
    results["tf/float64/uneven/l2 losses"] = history.loss
    results["tf/float64/uneven/l2 weights"] = flat_weights(tf_impl.to_reference(keras_model))

    # Keras 3 clips in the replica context, before its all-reduce: each replica's share.
    with strategy.scope():
        keras_model = tf_impl.from_reference(model("float64"))
        clipping = keras.optimizers.SGD(LEARNING_RATE, global_clipnorm=CLIP)
        clipping.build(keras_model.trainable_variables)
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((X, Y)).batch(len(X)))))

    def replica_clipped_step(x, y):
        with tf.GradientTape() as tape:
            value = tf.nn.compute_average_loss(keras.losses.MeanSquaredError(
                reduction=None, dtype="float64")(y, keras_model(x, training=True)),
                global_batch_size=len(X))
        grads = tape.gradient(value, keras_model.trainable_variables)
        clipping.apply_gradients(zip(grads, keras_model.trainable_variables, strict=True))

    tf.function(lambda x, y: strategy.run(replica_clipped_step, args=(x, y)))(*batch)
    results["tf/float64/uneven/clipped weights"] = flat_weights(tf_impl.to_reference(keras_model))

    # Keras fit on 3 replicas scales each replica's loss by 1/3 cast through float32.
    X, Y = rows(THREE_REPLICAS_ROWS, "float64")
    # reduced on one device: a second strategy's collectives would clash with the first's
    # group (both take group key 1)
    three = tf.distribute.MirroredStrategy([f"/cpu:{k}" for k in range(3)],
                                           cross_device_ops=tf.distribute.ReductionToOneDevice())
    keras.config.set_floatx("float64")
    with three.scope():
        keras_model = tf_impl.from_reference(model("float64"))
        keras_model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE),
                            loss=keras.losses.MeanSquaredError(dtype="float64"))
    keras_model.fit(tf.data.Dataset.from_tensor_slices((X, Y)).batch(len(X)), epochs=1,
                    shuffle=False, verbose=0)
    keras.config.set_floatx("float32")
    results["tf/float64/keras fit 3 replicas weights"] = flat_weights(
        tf_impl.to_reference(keras_model))

    # Keras fit with an uneven last batch (7 rows in batches of 4: 4, then 3 = 2 + 1).
    X, Y = data("uneven", "float64")
    with strategy.scope():
        keras_model = tf_impl.from_reference(model("float64"))
        keras_model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE),
                            loss=keras.losses.MeanSquaredError(dtype="float64"))
    keras_model.fit(tf.data.Dataset.from_tensor_slices((X, Y)).batch(KERAS_FIT_BATCH),
                    epochs=1, shuffle=False, verbose=0)
    results["tf/float64/uneven/keras fit batches of 4 weights"] = flat_weights(
        tf_impl.to_reference(keras_model))

    # Keras fit whose first batch splits unevenly (7 rows: 4 + 3) stops in its model build.
    with strategy.scope():
        keras_model = tf_impl.from_reference(model("float64"))
        keras_model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE),
                            loss=keras.losses.MeanSquaredError(dtype="float64"))
    try:
        keras_model.fit(tf.data.Dataset.from_tensor_slices((X, Y)).batch(len(X)), epochs=1,
                        shuffle=False, verbose=0)
        results["tf/keras fit first batch uneven"] = "trained"
    except tf.errors.InvalidArgumentError as error:
        results["tf/keras fit first batch uneven"] = error.message

    # The classic mistake: each replica's own mean loss, whose gradients are then summed.
    X, Y = data("even", "float64")
    with strategy.scope():
        keras_model = tf_impl.from_reference(model("float64"))
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((X, Y)).batch(len(X)))))

    def replica_gradient(x, y):
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(keras.losses.MeanSquaredError(reduction=None, dtype="float64")(
                y, keras_model(x)))
        grads = tape.gradient(value, keras_model.trainable_variables)
        return tf.distribute.get_replica_context().all_reduce("sum", grads)

    grads = tf.function(lambda x, y: strategy.run(replica_gradient, args=(x, y)))(*batch)
    results["tf/float64/even/mistake gradient"] = flat(
        strategy.experimental_local_results(g)[0].numpy() for g in grads)
    # compute_average_loss without global_batch_size, on slices of 4 and 3 rows.
    X, Y = data("uneven", "float64")
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((X, Y)).batch(len(X)))))

    def replica_losses(x, y):
        per_example = keras.losses.MeanSquaredError(reduction=None, dtype="float64")(
            y, keras_model(x))
        return (tf.nn.compute_average_loss(per_example),
                tf.nn.compute_average_loss(per_example, global_batch_size=len(X)))

    values = tf.function(lambda x, y: strategy.run(replica_losses, args=(x, y)))(*batch)
    for name, value in zip(("default", "global batch"), values, strict=True):
        results[f"tf/float64/uneven/compute_average_loss {name}"] = float(
            strategy.reduce("sum", value, axis=None))
    results["tf/shard rows 7"] = np.array(
        [r.tolist() + [-1] * (4 - len(r)) for r in parallel.shard_rows(7, strategy)])
    np.savez(out, **results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m parity_tests.data_parallel_worker")
    parser.add_argument("framework", choices=("torch", "tf"))
    parser.add_argument("out", help="the .npz file to write")
    parser.add_argument("--kill-rank", type=int, default=None,
                        help="torch: this rank kills itself after joining the group")
    args = parser.parse_args(argv)
    if args.kill_rank is not None and not 0 <= args.kill_rank < WORLD_SIZE:
        parser.error(f"--kill-rank must be a rank in [0, {WORLD_SIZE - 1}], got {args.kill_rank}")
    if args.framework == "torch":
        run_torch(args.out, args.kill_rank)
    else:
        run_tf(args.out)


if __name__ == "__main__":
    main()
