"""Fixtures the fuzz files share."""

from __future__ import annotations

import pytest

from parity_tests.conftest import framework


@pytest.fixture(scope="module")
def process_group():
    """A one-rank gloo group in this process: DDP's code path, without spawning."""
    dist = framework("torch").torch.distributed
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()
