"""One execution cannot see another's workspace, even while both run."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Sandbox, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

# What the program sees at /: the runtime, its own private dirs, nothing else.
ROOT_LISTING = sorted(
    {"bin", "dev", "etc", "lib", "lib64", "proc", "root", "sbin", "tmp", "usr", "var", "workspace"}
)

HOLDER = """
import time
with open("secret.txt", "w") as f:
    f.write("other-tenant-secret")
print("holding", flush=True)
time.sleep(1.5)
"""

SNOOP = """
import glob, os
found = []
for pattern in ["{state}/runs/*/work/secret.txt", "/proc/*/root/workspace/secret.txt",
                "/proc/*/cwd/secret.txt"]:
    found += glob.glob(pattern)
for top in ("/tmp", "/var", "/workspace", "/root", "/etc"):
    for folder, _, names in os.walk(top):
        found += [os.path.join(folder, n) for n in names if n == "secret.txt"]
print(found, sorted(os.listdir("/")))
"""


async def test_concurrent_workspace_is_invisible(
    sandbox: Sandbox, py: RunPython, unharmed: Unharmed
) -> None:
    holder = asyncio.ensure_future(py(HOLDER))
    await asyncio.sleep(0.5)  # the holder is running and has written its secret
    snoop = await py(SNOOP.format(state=sandbox.config.state_dir))
    held = await holder
    assert held.verdict is Verdict.SUCCEEDED, held
    assert snoop.verdict is Verdict.SUCCEEDED, snoop
    assert snoop.stdout_text == f"[] {ROOT_LISTING}\n"
    await unharmed()
