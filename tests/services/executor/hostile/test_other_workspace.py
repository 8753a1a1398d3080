"""One execution cannot see another's workspace, even while both run."""

from __future__ import annotations

import ast
import asyncio
from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import (
    Limits,
    OutputChunk,
    Sandbox,
    SandboxRequest,
    Verdict,
)
from tests.helpers import eventually

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

# What the program sees at /: the runtime, its own private dirs, nothing else.
ROOT_LISTING = sorted(
    {"bin", "dev", "etc", "lib", "lib64", "proc", "root", "sbin", "tmp", "usr", "var", "workspace"}
)

# Every way a program might reach a secret.txt: through the host's state
# directory, another process's root or working directory, or a plain walk.
SEARCH = """
import glob, os
found = []
for pattern in ["{state}/runs/*/work/secret.txt", "/proc/*/root/workspace/secret.txt",
                "/proc/*/cwd/secret.txt"]:
    found += glob.glob(pattern)
for top in ("/tmp", "/var", "/workspace", "/root", "/etc"):
    for folder, _, names in os.walk(top):
        found += [os.path.join(folder, n) for n in names if n == "secret.txt"]
"""

# Writes its secret, searches for it as the snoop will (the positive
# control: the search finds a secret.txt that is visible), says so, and
# stays running until the test stops it.
HOLDER = """
import time
with open("secret.txt", "w") as f:
    f.write("other-tenant-secret")
{search}
print(sorted(found), flush=True)
print("holding", flush=True)
time.sleep(60)
"""

SNOOP = """
{search}
print(found, sorted(os.listdir("/")))
"""


async def test_concurrent_workspace_is_invisible(
    sandbox: Sandbox, py: RunPython, unharmed: Unharmed
) -> None:
    search = SEARCH.format(state=sandbox.config.state_dir)
    output: list[bytes] = []
    stop = asyncio.Event()

    def collect(chunk: OutputChunk) -> None:
        if chunk.stream == "stdout":
            output.append(chunk.data)

    request = SandboxRequest(
        command=["python3", "main.py"],
        files={"main.py": HOLDER.format(search=search).encode()},
        limits=Limits(wall_time_s=60),
        on_output=collect,
    )
    holder = asyncio.ensure_future(sandbox.run(request, stop=stop))

    def holding() -> bool:
        if holder.done():
            raise AssertionError(f"the holder ended before the snoop ran: {holder.result()}")
        return b"holding\n" in b"".join(output)

    try:
        await eventually(holding, what="the holder to write its secret")
        snoop = await py(SNOOP.format(search=search))
    finally:
        stop.set()
        held = await holder
    # Still running while the snoop searched: stopped by the test, not ended by itself.
    assert held.verdict is Verdict.KILLED, held
    seen_by_holder = ast.literal_eval(held.stdout_text.splitlines()[0])
    assert "/workspace/secret.txt" in seen_by_holder
    assert any(path.startswith("/proc/") for path in seen_by_holder), seen_by_holder
    assert snoop.verdict is Verdict.SUCCEEDED, snoop
    assert snoop.stdout_text == f"[] {ROOT_LISTING}\n"
    await unharmed()
