"""Login attempts with a backoff: a password guesser gets a few tries, then waits longer each time.

Gradio 6 checks a login (``POST /login``, form fields ``username`` and ``password``) by calling
the ``auth`` callable given to ``launch()`` with the two strings. ``Guard`` is that callable. It
keys failures by the client's address (set for each request by ``ClientAddress``, a pure ASGI
middleware, since the callable never sees the request) and by the username: after ``threshold``
failures within ``window`` seconds a key is locked for 1 s, then for each further failure 2,
4, … up to ``max_delay`` seconds, until ``window + max_delay`` seconds pass without one. An
attempt on a locked key is refused without looking at the password (an HTTP 429 naming the
wait, answered at once), so neither a fast loop nor many usernames from one address get more
than a trickle of guesses.
A correct login once the lock has expired works, and clears the records of its username and
address (there is one account: whoever has its password gains nothing from the reset).

The address is the TCP peer (``scope["client"]``); behind a reverse proxy every client shares
the proxy's address, so the username key is what still limits guessing there.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

THRESHOLD = 5  # failures within WINDOW before a key is locked
WINDOW = 60.0  # seconds a failure counts
BASE_DELAY = 1.0  # the first lock; each further one doubles
MAX_DELAY = 60.0
MAX_KEYS = 10_000  # records kept at most (the oldest go first): a flood cannot fill memory

client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "client_address", default=None
)


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locks: int = 0  # locks in the current run of failures (the next one lasts 2**locks s)
    locked_until: float = 0.0
    last: float = 0.0


class LoginLimiter:
    """Failure records per key ("ip:…", "user:…"); thread-safe, with an injectable clock."""

    def __init__(
        self, *, threshold: int = THRESHOLD, window: float = WINDOW,
        base_delay: float = BASE_DELAY, max_delay: float = MAX_DELAY,
        max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.window = threshold, window
        self.base_delay, self.max_delay = base_delay, max_delay
        self.max_keys, self.clock = max_keys, clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, keys: list[str]) -> float:
        """Seconds until ``keys`` may try again (0.0: now)."""
        now = self.clock()
        with self._lock:
            until = max((r.locked_until for k in keys if (r := self._records.get(k))),
                        default=0.0)
        return max(0.0, until - now)

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                self._records[key] = record  # most recently used last
                if now - record.last > self.window + self.max_delay:
                    record.locks = 0  # a quiet spell: start the backoff again from 1 s
                while record.failures and record.failures[0] <= now - self.window:
                    record.failures.popleft()
                record.failures.append(now)
                record.last = now
                # once locked, every further failure locks again (longer) until a quiet spell
                if record.locks or len(record.failures) >= self.threshold:
                    delay = min(self.max_delay, self.base_delay * 2**record.locks)
                    record.locks += 1
                    record.locked_until = now + delay
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._records.pop(key, None)


class Guard:
    """Gradio's ``auth`` callable: one user and password, checked under a ``LoginLimiter``."""

    def __init__(self, user: str, password: str, limiter: LoginLimiter | None = None) -> None:
        self._user = user.encode("utf-8")
        self._password = password.encode("utf-8")
        self.limiter = limiter or LoginLimiter()

    def __call__(self, username: str, password: str) -> bool:
        address = client_address.get()
        keys = [f"user:{username}"] + ([f"ip:{address}"] if address else [])
        wait = self.limiter.wait(keys)
        if wait > 0:
            log.warning("login refused without checking (locked for %.0f s more): %r from %s",
                        wait, username[:100], address or "an unknown address")
            raise _refusal(wait)
        # compare_digest on both fields: the time taken says nothing about either
        ok = hmac.compare_digest(username.encode("utf-8", "surrogatepass"), self._user)
        ok = hmac.compare_digest(password.encode("utf-8", "surrogatepass"),
                                 self._password) and ok
        if ok:
            self.limiter.succeeded(keys)  # one account: whoever knows it may try again freely
            return True
        self.limiter.failed(keys)
        log.warning("failed login for %r from %s", username[:100], address or "an unknown address")
        return False


def _refusal(wait: float) -> Exception:
    """An HTTP 429 with ``Retry-After``, raised through Gradio's login route."""
    from fastapi import HTTPException

    seconds = max(1, int(wait + 0.999))
    return HTTPException(
        status_code=429,
        detail=f"Too many failed logins: try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


class ClientAddress:
    """ASGI middleware: each HTTP request's peer address in ``client_address`` for ``Guard``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            client = scope.get("client")
            token = client_address.set(str(client[0]) if client else None)
            try:
                await self.app(scope, receive, send)
            finally:
                client_address.reset(token)
            return
        await self.app(scope, receive, send)
