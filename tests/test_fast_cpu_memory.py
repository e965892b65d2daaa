"""`textgan.fast.cpu_memory.keep_freed_memory`: freed large tensors are reused instead of page-faulted in again."""

import platform
import subprocess
import sys

import pytest

# 48 MiB temporaries (above glibc's largest dynamic mmap threshold, 32 MiB), allocated and freed again and again,
# as the discriminator's window matrices are during Monte Carlo rollouts
PROBE = """
import resource, sys
import torch
from textgan.fast.cpu_memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.ones(12 << 20); y = torch.ones(1 << 20); z = x[:1000] + y[:1000]
    del x, y, z
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, sum(faults[2:]))
"""


def _probe(mode: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout
    applied, faults = out.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_tensors_are_reused_instead_of_faulted_in_again():
    applied, kept = _probe("keep")
    _, default = _probe("default")
    assert applied
    # by default every 48 MiB tensor is a fresh mapping: 12,288 page faults per iteration, ~120k over 10
    assert default > 10 * 10_000
    assert kept < default / 3
