"""The ``devgen`` command: run the platform, look after it, and talk to it as a client.

The CLI is a composition root like ``devgen.runtime``: it may import
services; no service imports it.
"""
