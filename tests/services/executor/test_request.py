"""Request validation: workspace paths, command, sizes."""

import pytest

from devgen.services.executor.sandbox import InvalidRequestError, Limits, SandboxRequest
from devgen.services.executor.sandbox.request import workspace_path


@pytest.mark.parametrize(
    ("name", "parts"),
    [("main.py", ("main.py",)), ("a/b/c.txt", ("a", "b", "c.txt")), ("..a", ("..a",))],
)
def test_good_paths_split_into_components(name: str, parts: tuple[str, ...]) -> None:
    assert workspace_path(name, what="file") == parts


@pytest.mark.parametrize(
    "name", ["", "/abs", "../x", "a/../b", "a//b", "./a", "a/.", "a/", "n\x00ul", "y" * 256]
)
def test_bad_paths_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        workspace_path(name, what="file")


def test_empty_command_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="command"):
        SandboxRequest(command=[]).validate()


def test_nul_in_argv_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="NUL"):
        SandboxRequest(command=["echo", "a\x00b"]).validate()


def test_files_larger_than_the_workspace_are_refused() -> None:
    request = SandboxRequest(
        command=["true"],
        files={"big": b"x" * (2 * 1024 * 1024)},
        limits=Limits(workspace_bytes=1024 * 1024),
    )
    with pytest.raises(InvalidRequestError, match="workspace"):
        request.validate()
