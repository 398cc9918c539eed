"""Errors the fake answers with, and the rules that inject them: faults, hangs, random faults.

Every error uses the API's `{"type": "error", "error": {...}}` envelope, so the SDK raises
its real exception classes and applies its real retry policy.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Match = Callable[[str, Any], bool]

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    """An error the fake answers with, in the API's error envelope."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")

    def body(self) -> dict[str, Any]:
        return error_body(self.error_type, self.message)


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


@dataclass
class Fault:
    status: int
    times: int
    retry_after_ms: float | None = None
    retry_after: float | str | None = None
    error_type: str | None = None
    match: Match | None = None
    should_retry: bool | None = None
    message: str | None = None


@dataclass
class Hang:
    seconds: float
    times: int
    match: Match | None = None


def fault_headers(fault: Fault) -> dict[str, str]:
    headers: dict[str, str] = {}
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    return headers


class FaultRules:
    """Mixin: `add_fault`, `add_hang` and a seeded `fault_rate`, consumed per request."""

    _lock: threading.RLock

    def _reset_faults(self) -> None:
        # Fraction of POST /v1/messages answered with a random 429/500/529 (retry-after-ms: 1).
        self.fault_rate = 0.0
        self._seed: int | None = None
        self._rng = random.Random()
        self._faults: list[Fault] = []
        self._hangs: list[Hang] = []

    @property
    def seed(self) -> int | None:
        return self._seed

    @seed.setter
    def seed(self, value: int | None) -> None:
        with self._lock:
            self._seed = value
            self._rng = random.Random(value)

    def add_fault(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after_ms: float | None = None,
        retry_after: float | str | None = None,
        error_type: str | None = None,
        match: Match | None = None,
        should_retry: bool | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with an error `status`.

        `match(path, body)` narrows which requests count; without it any authenticated request
        does. Faults are consumed in the order they were added. `should_retry` sets the
        `x-should-retry` header, which overrides the SDK's status-based decision.
        """
        fault = Fault(
            status=status,
            times=times,
            retry_after_ms=retry_after_ms,
            retry_after=retry_after,
            error_type=error_type,
            match=match,
            should_retry=should_retry,
            message=message,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_hang(self, seconds: float, times: int = 1, match: Match | None = None) -> Hang:
        """Delay the next `times` matching requests by `seconds` before answering normally."""
        hang = Hang(seconds=seconds, times=times, match=match)
        with self._lock:
            self._hangs.append(hang)
        return hang

    def _take_rule(self, rules: list[Any], path: str, body: Any) -> Any:
        with self._lock:
            for rule in rules:
                if rule.times > 0 and (rule.match is None or rule.match(path, body)):
                    rule.times -= 1
                    return rule
        return None

    def _random_fault(self, method: str, path: str) -> Fault | None:
        if method != "POST" or path != "/v1/messages":
            return None
        with self._lock:
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None
            status = self._rng.choice((429, 500, 529))
        return Fault(status=status, times=0, retry_after_ms=1)
