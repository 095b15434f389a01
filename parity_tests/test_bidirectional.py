"""Bidirectional across frameworks: the conventions the translations bridge, each side
shown (torch's last step of the reverse direction, Keras's masked steps), and what the
converters refuse."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance
from reference.sequences import GRU, LSTM, Bidirectional, Embedding

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


def _agree(actual, expected, dtype) -> None:
    bound = tolerance(dtype, "output")
    assert bound.error(np.asarray(actual), np.asarray(expected)) <= bound.rtol


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_last_step_is_each_directions_final_state_not_the_outputs_last_row(dtype) -> None:
    torch = framework("torch").torch
    from torch_impl.sequences import RecurrentOutput

    rnn = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True,
                        dtype=getattr(torch, np.dtype(dtype).name))
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 5, 3)).astype(dtype))
    output, (h_n, _) = rnn(x)
    last = RecurrentOutput(last_step=True)((output, (h_n, None)))
    np.testing.assert_array_equal(last[:, :4].detach(), output[:, -1, :4].detach())
    np.testing.assert_array_equal(last[:, 4:].detach(), output[:, 0, 4:].detach())  # t = 0
    assert (last[:, 4:] - output[:, -1, 4:]).abs().max() > 1e-3


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_masked_steps_match_the_spec_zero_outputs(dtype) -> None:
    framework("tf")
    import tf_impl

    x = np.array([[3, 1, 0, 2, 0], [1, 0, 0, 4, 2]])
    model = reference.Sequential([
        Embedding(5, 3, mask_zero=True, dtype=dtype),
        Bidirectional(GRU(3, 4, return_sequences=True, dtype=dtype), merge_mode="sum")],
        input_shape=(5,), seed=1)
    expected = model.forward(x)
    assert np.all(expected[x == 0] == 0)  # Keras's zero_output_for_mask, forced on both
    _agree(tf_impl.from_reference(model)(x), expected, dtype)


def test_keras_bidirectional_without_a_merge_is_refused_by_name() -> None:
    keras = framework("tf").tf.keras
    import tf_impl

    layer = keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode=None)
    model = keras.Sequential([keras.Input((4, 3)), layer])
    with pytest.raises(TypeError, match="merge_mode=None or return_state=True"):
        tf_impl.to_reference(model)


def test_the_torch_mirror_is_one_bidirectional_module_and_the_merge() -> None:
    framework("torch")
    import torch_impl
    from torch_impl.sequences import MergeDirections, RecurrentOutput

    layer = Bidirectional(LSTM(3, 4, return_sequences=True), merge_mode="ave")
    rnn, output, merge = torch_impl.from_reference(layer)
    assert rnn.bidirectional and type(output) is RecurrentOutput
    assert isinstance(merge, MergeDirections) and merge.merge_mode == "ave"
    assert not rnn.bias_hh_l0_reverse.requires_grad  # one bias per direction, as Keras's
