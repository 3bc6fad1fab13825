"""Process-wide allocator setting (textvae.runtime)."""

import subprocess
import sys

import pytest

# A beam step's shape: logsumexp over 1,280 x 9,518 logits allocates a 49 MB temporary.
PROBE = """
import resource, sys, torch
from textvae.runtime import keep_freed_memory
on = sys.argv[1] == "on" and keep_freed_memory()
x = torch.ones(1280, 9518)
for _ in range(3):
    x.logsumexp(-1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    x.logsumexp(-1)
print(int(on), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_freed_large_blocks_are_reused_without_page_faults():
    def faults(mode):
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
        on, count = map(int, out.stdout.split())
        return on, count

    on, kept = faults("on")
    if not on:
        pytest.skip("the C library has no mallopt (not glibc)")
    _, default = faults("off")
    pages = 10 * 1280 * 9518 * 4 // 4096
    assert default > 0.8 * pages  # every fresh 49 MB temporary is faulted in again...
    assert kept < 0.3 * pages  # ...unless freed memory stays in the process (glibc reuses it most times)


def test_the_setting_can_be_left_alone(monkeypatch):
    import textvae.runtime as runtime

    monkeypatch.setattr(runtime, "_done", False)
    monkeypatch.setenv("TEXTVAE_KEEP_MALLOC", "1")
    assert runtime.keep_freed_memory() is False
