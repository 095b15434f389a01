"""A new embedding's padding row: zeros in torch's ``nn.Embedding(padding_idx=…)``, and so in
the spec, which takes torch's ``padding_idx`` convention."""

from __future__ import annotations

import numpy as np
import torch

from reference.sequences import Embedding


def test_torch_and_the_spec_start_the_padding_row_at_zeros() -> None:
    torch_table = torch.nn.Embedding(6, 3, padding_idx=2).weight.detach().numpy()
    spec_table = Embedding(6, 3, padding_idx=2, seed=0).parameters["embeddings"]
    np.testing.assert_array_equal(torch_table[2], np.zeros(3))
    np.testing.assert_array_equal(spec_table[2], torch_table[2])
