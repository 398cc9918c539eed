"""One exception family. Each error formats its own one-line message.

A user mistake (bad frontmatter, a missing image, a bad config value) is a `Problem`:
it names the file and, where known, the line, and the item is skipped while the run
goes on. A `Fatal` stops the command; `__main__` maps it to a message and exit code.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_KEY = (
    "ANTHROPIC_API_KEY is not set: export it (in CI, add it as a repository secret) "
    "to enrich; `make build` still builds from the committed sidecars without it"
)


@dataclass(frozen=True)
class Problem:
    """A per-item problem: reported as `path[:line]: message`, the item is skipped."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return self.shown()

    def shown(self, path: str | None = None) -> str:
        """The one format of a problem: `path[:line]: message`, the path as given
        (relative to where the user stands) or as found (docs_dir-relative)."""
        where = path if path is not None else self.path
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


class PipelineError(Exception):
    """Base of every error we raise on purpose; `str()` is the one line we print."""

    exit_code = 1


class Fatal(PipelineError):
    """The command cannot go on (missing mkdocs.yml, a bad option, no API key)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class ItemError(PipelineError):
    """One item failed; carries a `Problem` so callers can report and go on."""

    def __init__(self, path: str, message: str, line: int | None = None):
        self.problem = Problem(path, message, line)
        super().__init__(str(self.problem))


class SidecarError(ItemError):
    """A sidecar file cannot be read or does not have the expected shape."""


class LockHeld(Fatal):
    """Another enrich run holds the lock on this tree."""


class RequestFailed(PipelineError):
    """One API request failed after the SDK's retries (or was rejected outright)."""

    def __init__(self, message: str, retryable: bool, permanent: bool = False):
        super().__init__(message)
        self.retryable = retryable
        # A 400/413 invalid_request_error: the same request fails the same way, always.
        self.permanent = permanent
