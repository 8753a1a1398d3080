"""Per-thread credentials: a spawned child is unprivileged, the service thread is not."""

import os
import subprocess
import threading

from devgen.services.executor.sandbox import creds


def _status(field: str) -> str:
    with open("/proc/thread-self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(field)


def test_child_spawned_inside_has_the_slot_ids_and_no_capabilities() -> None:
    with creds.thread_identity(60097, 60097):
        assert os.getresuid() == (60097, 60097, 0)
        child = subprocess.run(
            ["grep", "-E", "^(Uid|Gid|Groups|CapPrm|CapEff):", "/proc/self/status"],
            capture_output=True,
            text=True,
            check=True,
        )
    fields = dict(line.split(":", 1) for line in child.stdout.splitlines())
    assert fields["Uid"].split() == ["60097"] * 4
    assert fields["Gid"].split() == ["60097"] * 4
    assert fields["Groups"].strip() == ""
    assert int(fields["CapPrm"], 16) == 0
    assert int(fields["CapEff"], 16) == 0


def test_identity_is_restored_and_other_threads_never_change() -> None:
    seen: list[str] = []
    inside = threading.Event()
    done = threading.Event()

    def other_thread() -> None:
        inside.wait(5)
        seen.append(_status("Uid"))
        done.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    before = (_status("Uid"), _status("CapEff"), os.getgroups())
    with creds.thread_identity(60098, 60098):
        inside.set()
        done.wait(5)
    thread.join()
    assert seen == ["0\t0\t0\t0"]
    assert (_status("Uid"), _status("CapEff"), os.getgroups()) == before
