"""The data-parallelism page, ``docs/data-parallelism.md``, read from the code.

The math is ``reference/parallel.py``'s docstring; the two loops side by side are
``data_parallel_fit`` of ``torch_impl/parallel.py`` and ``tf_impl/parallel.py`` with the
module helpers they use, as written; the conventions are the mirrors' docstrings; the
tests listed are those of ``parity_tests/test_data_parallel.py``. How the same code runs
on several machines, and the cheat-sheet rows, are written here: documented, not tested
(the test machines have no network between them).
"""

from __future__ import annotations

import ast
from pathlib import Path

from docs.markdown import GENERATED, docstring, fence, inline
from nn_rosetta.sources import module_source

PAGE = "data-parallelism"
TITLE = "Data parallelism"
TESTS = Path(__file__).resolve().parent.parent / "parity_tests" / "test_data_parallel.py"
MIRRORS = (("torch_impl", "PyTorch: DistributedDataParallel, 2 gloo ranks"),
           ("tf_impl", "TensorFlow: MirroredStrategy, 2 replicas"))

# (what, PyTorch, TensorFlow): the cheat sheet's rows for data parallelism.
CHEAT_SHEET = [
    ("start the replicas", "`torch.multiprocessing.spawn(fn, nprocs=W)` or "
     "`torchrun --nproc-per-node=W train.py`: one process per replica",
     "one process: `tf.distribute.MirroredStrategy(devices)`, one replica per device"),
    ("join them", "`dist.init_process_group(\"gloo\")` (CPU) or `\"nccl\"` (GPU), from "
     "`MASTER_ADDR`, `MASTER_PORT`, `RANK`, `WORLD_SIZE`",
     "nothing on one machine; several: `MultiWorkerMirroredStrategy()` reads `TF_CONFIG`"),
    ("CPU devices to try it on", "processes on the gloo backend",
     "`tf.config.set_logical_device_configuration` (before TF touches its devices)"),
    ("wrap the model", "`DistributedDataParallel(module)`",
     "create the model and the optimizer under `strategy.scope()`"),
    ("shard the data", "`DistributedSampler(dataset)` in the `DataLoader`; "
     "`sampler.set_epoch(epoch)` each epoch",
     "`strategy.experimental_distribute_dataset(dataset.batch(global_batch))`"),
    ("who am I", "`dist.get_rank()`, `dist.get_world_size()`",
     "`get_replica_context().replica_id_in_sync_group`, `strategy.num_replicas_in_sync`"),
    ("run one step", "every rank runs the ordinary loop",
     "`strategy.run(step, args=(x, y))` inside a `tf.function`"),
    ("the loss", "each rank's mean loss, as without DDP",
     "`tf.nn.compute_average_loss(per_example_loss, global_batch_size=N)`"),
    ("gradients combined", "averaged over the ranks during `loss.backward()`",
     "summed over the replicas in `optimizer.apply_gradients`"),
    ("the classic mistake", "`loss / world_size`: the gradient shrinks W-fold",
     "`reduce_mean` per replica: the gradient grows W-fold"),
    ("uneven last shard", "the sampler repeats rows (or `drop_last=True` drops them); exact: "
     "drop the copies, loss × n_r·W/N", "slices of 4 and 3: pass `global_batch_size`; "
     "Keras `fit` averages the slices' means"),
    ("a value for the log", "`dist.all_reduce(t)`, then `t / world_size`",
     "`strategy.reduce(\"sum\", value, axis=None)`"),
    ("built-in training", "none in core torch (Lightning, Accelerate)",
     "`model.compile` under the scope, then `model.fit`: the loss is scaled for you"),
]

TORCH_MACHINES = """\
# On every machine, the same script; torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
#   machine 0:  torchrun --nnodes=2 --node-rank=0 --nproc-per-node=1 \\
#                   --master-addr=10.0.0.1 --master-port=29500 train.py
#   machine 1:  the same with --node-rank=1
import torch.distributed as dist

dist.init_process_group("gloo")          # "nccl" on GPUs; reads the variables above
module = torch_impl.from_reference(spec_model)
torch_impl.parallel.data_parallel_fit(module, X, Y, "mean_squared_error", SGD(0.5), epochs=4)
dist.destroy_process_group()"""

TF_MACHINES = """\
# On every machine, the same script, with its own task index in TF_CONFIG:
#   TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
#               "task": {"type": "worker", "index": 0}}'     (index 1 on the other)
strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG, before other TF use
with strategy.scope():
    keras_model = tf_impl.from_reference(spec_model)
tf_impl.parallel.data_parallel_fit(keras_model, X, Y, "mean_squared_error", SGD(0.5),
                                   epochs=4, strategy=strategy)"""

ONE_MACHINE = """\
On one machine the tests start the replicas as follows (`parity_tests/data_parallel_worker.py`):
torch spawns 2 processes with `torch.multiprocessing.spawn`, each joining a gloo group on
127.0.0.1 at a free port (`MASTER_ADDR`, `MASTER_PORT`); TensorFlow splits the CPU into 2
logical devices and builds a `MirroredStrategy` over them, in a process of its own because
the devices must be configured before TensorFlow first uses them. A rank that dies ends the
run: `spawn` stops the other rank and raises, naming the rank; a hung collective ends at
gloo's timeout."""

MACHINES = """\
Across machines the loops stay as they are; only the start changes. This part is documented,
not tested: the test machines have no network between them, and `MultiWorkerMirroredStrategy`
is not run here. torch's `DistributedSampler` and TensorFlow's dataset auto-sharding then deal
the rows out over all replicas of all machines; the global batch is the sum of the replicas'."""


def shown(package: str) -> list[str]:
    """The names shown for a mirror: ``data_parallel_fit`` and the public module-level
    names it uses (its input check, a private decorator argument, is left out)."""
    source = module_source(package, "parallel")
    return [*(d.name for d in source.helpers(["data_parallel_fit"])
              if not d.name.startswith("_")), "data_parallel_fit"]


def _bare(package: str) -> str:
    source = module_source(package, "parallel")
    return "\n\n\n".join(source.definition(name).bare for name in shown(package))


def _tests() -> list[tuple[str, str]]:
    tree = ast.parse(TESTS.read_text(encoding="utf-8"))
    return [(node.name, (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " "))
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def page() -> str:
    spec = module_source("reference", "parallel")
    out = [GENERATED, "", f"# {TITLE}", "",
           "[All concepts](README.md) · [Training loops](training-loops.md)", "",
           docstring(spec.docstring), "", "## The loop in both idioms", "",
           "Full-batch training with each step split over the replicas: `data_parallel_fit` "
           "as written in the two mirrors, docstrings left out. The commented lines are "
           "where the two frameworks' conventions meet the spec's full batch.", "",
           "<table>", "<tr>" + "".join(f"<th>{label}</th>" for _, label in MIRRORS) + "</tr>",
           "<tr>"]
    for package, _ in MIRRORS:
        out += ["<td>", "", fence(_bare(package)), "", "</td>"]
    out += ["</tr>", "</table>", "", "## Where the frameworks differ", ""]
    for package, label in MIRRORS:
        out += [f"**{label.split(':')[0]}** · [`{package}/parallel.py`](../{package}/parallel.py)",
                "", docstring(module_source(package, "parallel").docstring), ""]
    out += ["## The spec", "", "[`reference/parallel.py`](../reference/parallel.py)", "",
            fence("\n\n\n".join(spec.definition(n).source for n in (
                "data_parallel_gradient", "data_parallel_fit"))), "",
            "## Starting the replicas", "", ONE_MACHINE, "", "### Across machines", "",
            MACHINES, "", "**PyTorch**", "", fence(TORCH_MACHINES), "", "**TensorFlow**", "",
            fence(TF_MACHINES), "", "## Cheat sheet: DDP and tf.distribute", "",
            "| | PyTorch | TensorFlow |", "|---|---|---|"]
    out += [f"| {what} | {torch} | {tf} |" for what, torch, tf in CHEAT_SHEET]
    out += ["", "## Tested by", "",
            "`parity_tests/test_data_parallel.py`, against the spec's single-process "
            "full-batch run (float64 at rtol 1e-10, float32 at the trajectory tolerance 1e-4); "
            "`reference/tests/test_parallel.py` for the spec itself.", ""]
    out += [f"- `{name}`" + (f": {inline(doc)}" if doc else "") for name, doc in _tests()]
    return "\n".join(out).rstrip() + "\n"
