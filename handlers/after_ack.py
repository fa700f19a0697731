"""The work a listener does after `ack()`, run where it cannot hold up the next request's answer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Respond

from bot.services import UserError

logger = logging.getLogger(__name__)

# Threads that run replies. A reply mostly waits on Slack's round trip, so replies per second grow with
# threads; but a thread doing its share of CPU is one more contender for the GIL the request threads need to
# answer. Eight balanced the two on the bench (`bench/ack.py`; the figures are in bench/README.md).
REPLY_WORKERS = 8
# Replies accepted but not finished. Past this, a listener waits for room before returning, so its
# HTTP 200 slows down instead of the backlog (and its memory) growing without bound.
MAX_PENDING_REPLIES = 1000

Task = Callable[..., object]
# Answers a refusal a user can fix (a UserError) to the request's sender: the one place that does.
Refuse = Callable[[UserError, dict[str, Any], Respond | None], None]


def tell_about_unexpected_error(error: BaseException, body: dict[str, Any], respond: Respond | None, *,
                                request_id: str | None = None) -> None:
    """Log a listener's unexpected error once and, when Slack gave us a way to answer, say something went wrong."""
    logger.error("unhandled error in a listener: %s (request %s)", type(error).__name__, request_id or "-",
                 exc_info=error)
    if body.get("response_url") and respond is not None:
        respond(text="Sorry, something went wrong on our side. Please try again in a minute.",
                response_type="ephemeral", replace_original=False)


class AfterAck:
    """Runs listener work after the acknowledgement: inline (tests), or queued on a small pool (serving).

    A task that raises UserError is answered with `refuse`, so no listener repeats that reply.

    Bolt answers Slack when the listener returns, so a listener acks, hands the rest here, and returns:
    the HTTP 200 never waits behind earlier requests' database work and replies.
    """

    def __init__(self, *, inline: bool, refuse: Refuse, workers: int = REPLY_WORKERS,
                 max_pending: int = MAX_PENDING_REPLIES) -> None:
        self._refuse = refuse
        self._pool = None if inline else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reply")
        self._room = threading.BoundedSemaphore(max_pending)

    def for_request(self, body: dict[str, Any], respond: Respond | None, *, request_id: str | None = None,
                    claim: Callable[[], bool] | None = None) -> Callable[..., None]:
        """Return `after_ack(task, *args, **kwargs)` for one request; a failure is reported to its sender.

        Args:
            claim: says whether to act at all (False for a replayed request); asked off the request thread.
        """
        run = self._after_ack(body, respond, request_id)
        if claim is None:
            return run

        def after_ack(task: Task, /, *args: Any, **kwargs: Any) -> None:
            run(self._claimed, claim, task, *args, **kwargs)

        return after_ack

    @staticmethod
    def _claimed(claim: Callable[[], bool], task: Task, /, *args: Any, **kwargs: Any) -> None:
        if claim():
            task(*args, **kwargs)

    def _after_ack(self, body: dict[str, Any], respond: Respond | None, request_id: str | None
                   ) -> Callable[..., None]:
        def after_ack(task: Task, /, *args: Any, **kwargs: Any) -> None:
            if self._pool is None:
                self._run(task, args, kwargs, body, respond, request_id)
                return
            self._room.acquire()
            try:
                self._pool.submit(self._run_and_free, task, args, kwargs, body, respond, request_id)
            except BaseException:
                self._room.release()
                raise

        return after_ack

    def shutdown(self) -> None:
        """Finish the replies already accepted, then stop the threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _run_and_free(self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], body: dict[str, Any],
                      respond: Respond | None, request_id: str | None) -> None:
        try:
            self._run(task, args, kwargs, body, respond, request_id)
        finally:
            self._room.release()

    def _run(self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], body: dict[str, Any],
             respond: Respond | None, request_id: str | None) -> None:
        try:
            task(*args, **kwargs)
        except UserError as problem:
            self._refuse(problem, body, respond)
        except Exception as error:  # noqa: BLE001  (the pool has no @app.error: report it the same way)
            try:
                tell_about_unexpected_error(error, body, respond, request_id=request_id)
            except Exception:  # noqa: BLE001  (Slack unreachable too: the log line above is all we can do)
                logger.warning("could not tell the user about an unexpected error", exc_info=True)
