"""Message Batches: create, retrieve (ending after `batch_polls_before_end` polls), and
results, with outcomes forced per custom_id."""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fake_anthropic.faults import ApiError, bad_request, error_body
from fake_anthropic.wire import JSON

BatchOutcome = Literal["errored", "expired", "canceled"]
CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class FakeBatch:
    id: str
    requests: list[dict[str, Any]]
    created_at: datetime
    polls: int = 0
    status: Literal["in_progress", "canceling", "ended"] = "in_progress"
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None
    # custom_id -> result object (the `result` member of a JSONL line), set when the batch ends.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Batches:
    """Mixin: the batches a fake holds. Needs `_create_message` (messages.Replies)."""

    _lock: threading.RLock
    # Retrieves that still report in_progress; polling code needs at least one to exercise.
    batch_polls_before_end = 1

    def _reset_batches(self) -> None:
        # custom_id -> forced outcome; a forced "errored" carries an api_error.
        self.batch_outcomes: dict[str, BatchOutcome] = {}
        self.batches: dict[str, FakeBatch] = {}

    def _results_url(self, batch_id: str) -> str | None:
        return None

    def _batch_object(self, batch: FakeBatch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "ended":
            for result in batch.results.values():
                counts[result["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": rfc3339(batch.created_at),
            "expires_at": rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": rfc3339(batch.ended_at) if batch.ended_at else None,
            "cancel_initiated_at": (
                rfc3339(batch.cancel_initiated_at) if batch.cancel_initiated_at else None
            ),
            "archived_at": None,
            "results_url": self._results_url(batch.id) if ended else None,
        }

    def _end_batch(self, batch: FakeBatch) -> None:
        for item in batch.requests:
            custom_id = item["custom_id"]
            forced = self.batch_outcomes.get(custom_id)
            if batch.status == "canceling" and forced is None:
                forced = "canceled"
            if forced == "errored":
                batch.results[custom_id] = {
                    "type": "errored",
                    "error": error_body("api_error", "Fake forced error."),
                }
            elif forced in ("expired", "canceled"):
                batch.results[custom_id] = {"type": forced}
            else:
                try:
                    message = self._create_message(item["params"], tier="batch")
                    batch.results[custom_id] = {"type": "succeeded", "message": message}
                except ApiError as err:
                    batch.results[custom_id] = {"type": "errored", "error": err.body()}
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _get_batch(self, batch_id: str) -> FakeBatch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"Message batch {batch_id} not found.", "not_found_error")
        return batch

    def _create_batch(self, body: JSON) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise bad_request("requests: Field required and must be a non-empty list")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
                raise bad_request(f"requests.{i}.params: Field required")
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not CUSTOM_ID_RE.match(custom_id):
                raise bad_request(
                    f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )
            if custom_id in seen:
                raise bad_request(f"requests: Found duplicate custom_id `{custom_id}`.")
            seen.add(custom_id)
        batch = FakeBatch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            requests=[{"custom_id": r["custom_id"], "params": r["params"]} for r in requests],
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self.batches[batch.id] = batch
            return self._batch_object(batch)

    def _retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status != "ended":
                batch.polls += 1
                # A cancel settles on the next poll, whatever the poll budget.
                if batch.status == "canceling" or batch.polls > self.batch_polls_before_end:
                    self._end_batch(batch)
            return self._batch_object(batch)

    def _batch_results(self, batch_id: str) -> bytes:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status != "ended":
                raise ApiError(404, f"Results for {batch_id} are not available yet.")
            lines = [
                json.dumps({"custom_id": cid, "result": result})
                for cid, result in batch.results.items()
            ]
        return ("\n".join(lines) + "\n").encode()
