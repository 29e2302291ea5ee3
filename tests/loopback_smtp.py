"""A real SMTP server (aiosmtpd) on a loopback port of its own, for the tests that send mail.

aiosmtpd's controller cannot listen on port 0 (it connects to its own port to check that it
is up), so a free port is found by binding a probe socket, which is then closed. Another
process (a parallel pytest worker, a client connection) can take that port before the
controller binds it: the controller then fails with EADDRINUSE and another free port is tried.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
ATTEMPTS = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(handler: object) -> Iterator[int]:
    """Serve SMTP on loopback with aiosmtpd's ``handler``; the port it listens on."""
    for attempt in range(ATTEMPTS):
        port = _free_port()
        controller = Controller(handler, hostname=HOST, port=port)
        try:
            controller.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or attempt == ATTEMPTS - 1:
                raise
            continue
        try:
            yield port
        finally:
            controller.stop()
        return
