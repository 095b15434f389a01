"""Headless chromium driven over the DevTools protocol, with the standard library only.

``--remote-debugging-pipe`` makes chromium read protocol commands from its file
descriptor 3 and write replies and events to descriptor 4, as JSON messages ended by a
NUL byte: no websocket and no port. ``os.posix_spawn`` maps two pipes onto 3 and 4.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe")


def _high(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def binary() -> str | None:
    return next((path for name in ("chromium", "chromium-browser")
                 if (path := shutil.which(name))), None)


class Chromium:
    """One headless browser with one page, attached as ``self.session``."""

    def __init__(self, executable: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.events: list[dict] = []
        self._buffer = b""
        self._id = 0
        # Above 9, so that mapping them onto 3 and 4 cannot overwrite one with the other.
        commands_in, self._commands = (_high(fd) for fd in os.pipe())
        self._replies, replies_out = (_high(fd) for fd in os.pipe())
        self._log = profile / "chromium.log"
        self.pid = os.posix_spawn(
            executable, [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            os.environ, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(self._log), os.O_WRONLY | os.O_CREAT, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
                (os.POSIX_SPAWN_DUP2, commands_in, 3),
                (os.POSIX_SPAWN_DUP2, replies_out, 4)])
        os.close(commands_in)
        os.close(replies_out)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], max(0.0, deadline - time.time()))
            chunk = os.read(self._replies, 1 << 20) if ready else b""
            if not chunk:
                why = "timed out" if not ready else "closed its pipe"
                raise RuntimeError(f"chromium {why}; its log ends with:\n"
                                   + self._log.read_text(errors="replace")[-2000:])
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and return its result; events arriving meanwhile are kept."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, params: dict | None = None) -> dict:
        return self.send(method, params, self.session)

    def wait_for(self, event: str) -> dict:
        deadline = time.time() + self.timeout
        while True:
            for message in self.events:
                if message.get("method") == event:
                    return message
            self.events.append(self._receive(deadline))

    def evaluate(self, expression: str):
        result = self.page("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"the probe threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except RuntimeError:
            pass  # already gone: nothing to close
        finally:
            deadline = time.time() + 10
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.time() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.05)
            os.close(self._commands)
            os.close(self._replies)
