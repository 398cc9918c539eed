"""Fakes of the Claude Messages API for tests, split by concern.

- `server.FakeAnthropic`: the API over real HTTP on 127.0.0.1, reached by the real SDK
  through ANTHROPIC_BASE_URL (fixture `fake_api`). For the client's own tests and the
  end-to-end CLI tests: retries, error bodies, timeouts, strict response validation.
- `protocol.FakeMessages`: the same replies, caching and batches in-process, behind our
  `MessagesAPI` protocol (fixture `fake_messages`). For runner and batch tests: the
  runner is handed it instead of a `Client`; the SDK is not involved, not mocked.

Both share `messages` (replies), `caching` (prompt cache), `batches`, over `wire`
(request validation, token counts) and `faults` (errors and injected failures).
"""

from fake_anthropic.faults import bad_request
from fake_anthropic.messages import Refusal
from fake_anthropic.protocol import FakeMessages, fake_messages
from fake_anthropic.server import FakeAnthropic, RecordedRequest, fake_api

__all__ = [
    "FakeAnthropic",
    "FakeMessages",
    "RecordedRequest",
    "Refusal",
    "bad_request",
    "fake_api",
    "fake_messages",
]
