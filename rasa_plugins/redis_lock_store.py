"""Rasa's Redis lock store with atomic changes, for several Rasa servers sharing one Redis.

Rasa 3.6's `RedisLockStore` changes a conversation's ticket lock by reading it, changing it and writing it back in
separate Redis calls. Inside one server that is safe (nothing else runs on its event loop in between), but when
two servers get messages of one conversation at the same moment, one can overwrite the other's change: both hold
the same ticket and handle their messages at once, or a finished ticket comes back and the next message waits
until it expires (60 s; tests/scale saw this as a timed-out request). Here every change of a lock is one
optimistic Redis transaction (WATCH, MULTI, EXEC; redone when another server changed the lock in between).
Lock keys also expire a minute after their last ticket, so a server that crashed mid-message leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

KEEP_AFTER_LAST_TICKET_SECONDS = 60
Change = Callable[[TicketLock | None], tuple[Any, TicketLock | None, bool]]  # result, lock to write, delete?


def key_expiry(lock: TicketLock, now: float) -> int:
    """Seconds the lock key lives: until its last ticket expires, plus a minute."""
    last = max((ticket.expires for ticket in lock.tickets), default=now)
    return max(1, math.ceil(last - now)) + KEEP_AFTER_LAST_TICKET_SECONDS


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Rasa builds custom lock stores from the endpoints file's `lock_store` section (`endpoint_config`)."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        kwargs["password"] = kwargs.get("password") or None
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Change) -> Any:
        key = self.key_prefix + conversation_id

        def apply(pipe: Any) -> Any:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            result, changed, delete = change(lock)
            pipe.multi()
            if delete:
                pipe.delete(key)
            elif changed is not None:
                pipe.set(key, changed.dumps(), ex=key_expiry(changed, time.time()))
            return result

        return self.red.transaction(apply, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[int, TicketLock, bool]:
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock, False

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:  # as RedisLockStore: the message is then refused with a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[None, TicketLock | None, bool]:
            if lock:
                lock.remove_expired_tickets()
            return None, lock, False

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[None, TicketLock | None, bool]:
            if lock:
                lock.remove_ticket_for(ticket_number)
            return None, lock, False

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Finish the ticket and delete the lock if nobody waits, in one step (Rasa does it in two)."""
        def finish_and_maybe_delete(lock: TicketLock | None) -> tuple[None, TicketLock | None, bool]:
            if not lock:
                return None, None, False
            lock.remove_ticket_for(ticket_number)
            return None, lock, not lock.is_someone_waiting()

        self._change(conversation_id, finish_and_maybe_delete)
