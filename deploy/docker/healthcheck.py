"""The image's HEALTHCHECK: GET /health of whatever devgen runs in this container.

One image runs any service, each on its own port, so the port is read from the
container's command line (PID 1, ``tini -- devgen serve identity --port 9001``):
``--port`` when given, else the service's own port (``devgen up`` and the
gateway: 8000). Exit 0 when /health answers 200, 1 otherwise (Docker's
contract). Standard library only: it runs every few seconds.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

DEFAULT_PORTS = {
    "gateway": 8000,
    "identity": 8001,
    "profile": 8002,
    "audit": 8003,
    "storage": 8004,
    "executor": 8005,
    "codegen": 8006,
    "orchestrator": 8007,
}
TIMEOUT_SECONDS = 4.0
_OPTIONS_WITH_VALUE = frozenset({"--host", "--port"})


def port_of(argv: Sequence[str]) -> int | None:
    """The port ``devgen up`` or ``devgen serve <service>`` in ``argv`` listens on.

    None when ``argv`` runs neither (``devgen migrate``, a shell): nothing to ask.
    """
    words = list(argv)
    for index, word in enumerate(words):
        if Path(word).name == "devgen":
            words = words[index + 1 :]
            break
    else:
        return None
    if not words or words[0] not in {"up", "serve"}:
        return None
    for index, word in enumerate(words):
        if word == "--port" and index + 1 < len(words):
            return int(words[index + 1])
        if word.startswith("--port="):
            return int(word.removeprefix("--port="))
    if words[0] == "up":
        return DEFAULT_PORTS["gateway"]
    return DEFAULT_PORTS.get(_first_argument(words[1:]))


def _first_argument(words: Sequence[str]) -> str:
    """The first word that is neither an option nor an option's value."""
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _OPTIONS_WITH_VALUE:
            skip = True
        elif not word.startswith("-"):
            return word
    return ""


def main() -> int:
    """Ask /health on the loopback; 0 when it answers 200."""
    argv = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
    port = port_of([word for word in argv if word])
    if port is None:
        print("not a devgen server: nothing to check")
        return 0
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}")
        return 1
    print(f"{url}: {'ok' if healthy else 'unhealthy'}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
