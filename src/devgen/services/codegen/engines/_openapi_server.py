"""The preloaded export process: run as a script by :mod:`.openapi_export`, never imported.

It imports the libraries a rendered project uses (its arguments), says ``ready``, then for
each request line (JSON ``{"root": ..., "timeout": ...}``) forks a child that imports the
project's ``app`` from ``root`` and writes one reply line (JSON ``{"ok", "document" or
"error", "imported"}``). It ends when its input does, that is when its parent does.

It imports nothing from devgen: it runs in isolated mode (``python -I``) so that neither the
caller's environment nor this directory (whose module names could shadow others) is on its
path, only the interpreter's own libraries.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback

# The same variables the plain subprocess leaves out of its environment: the caller's
# database and token must not reach the rendered app's settings.
_DROPPED_ENVIRONMENT = ("PYTHON", "DATABASE_URL", "API_TOKEN")


def main(preload: list[str]) -> None:
    """Import ``preload``, then answer requests from stdin on stdout until stdin ends."""
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:  # a library of an optional feature: the child imports it if used
            continue
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    replies.write(b"ready\n")
    replies.flush()
    for line in requests:
        request = json.loads(line)
        replies.write(_serve(request["root"], int(request["timeout"])) + b"\n")
        replies.flush()
    # Nothing is left to flush or clean up: skip the teardown of every library loaded.
    os._exit(0)


def _serve(root: str, timeout: int) -> bytes:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns: its exit must not run this process's cleanup
        os.close(read_end)
        code = 1
        try:
            code = _child(root, write_end, timeout)
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    # Read to the end before waiting: a document larger than the pipe would block the child.
    with os.fdopen(read_end, "rb") as reader:
        while chunk := reader.read(1 << 16):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    reply = b"".join(chunks).strip()
    if not reply:
        return _reply(ok=False, error=f"the export process ended with {_describe(status)}")
    return reply


def _child(root: str, write_end: int, timeout: int) -> int:
    # Its stdin and stdout are the protocol's: nothing the app prints may reach them.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    signal.alarm(timeout)  # its default action ends the child; the reply says so
    try:
        # Set up as the plain subprocess is: its environment, directory and import path.
        for key in [key for key in os.environ if key.startswith(_DROPPED_ENVIRONMENT)]:
            del os.environ[key]
        os.environ["PYTHONPATH"] = root
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        sys.dont_write_bytecode = True
        os.chdir(root)
        sys.path.insert(0, root)
        before = set(sys.modules)
        from app.config import Settings  # type: ignore[import-not-found]
        from app.main import create_app  # type: ignore[import-not-found]

        # The same steps as postprocess's plain subprocess script, which is the reference.
        app = create_app(Settings.model_construct())
        document = json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
        imported = sorted(
            name
            for name in set(sys.modules) - before
            if name != "app" and not name.startswith("app.")
        )
        reply = _reply(ok=True, document=document, imported=imported)
        code = 0
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
        reply = _reply(ok=False, error="".join(traceback.format_exception(exc)))
        code = 1
    with os.fdopen(write_end, "wb") as writer:
        writer.write(reply + b"\n")
    return code


def _reply(*, ok: bool, **fields: object) -> bytes:
    return json.dumps({"ok": ok, **fields}, ensure_ascii=True).encode()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return f"signal {name}" + (" (its time was up)" if name == "SIGALRM" else "")
    return f"exit status {os.waitstatus_to_exitcode(status)}"


if __name__ == "__main__":
    main(sys.argv[1:])
