"""Redis tracker store that forgets, for several Rasa servers sharing their conversations.

The same forgetting as the in-memory store (`rasa_plugins.tracker_store`), on Rasa's `RedisTrackerStore`:

- when a report or follow-up is done (the actions' `redact_conversation` marker), every user and bot text up to
  and including the last marker is blanked and the report and follow-up slot values set up to there are
  dropped, before anything is written to Redis; a report or follow-up started after the marker stays intact;
- a restart (`/restart`) drops everything said before it;
- every write sets the key's expiry to `record_exp` seconds (endpoints file, default one hour), so an idle or
  abandoned conversation disappears from Redis by itself. A store without expiry is refused.

Configure it in the endpoints file (deploy/endpoints.yml) together with Rasa's Redis lock store.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_plugins.redaction import expiry_seconds
from rasa_plugins.tracker_store import DEFAULT_MAX_IDLE_SECONDS, serialise


class RedactingRedisTrackerStore(RedisTrackerStore):
    def __init__(self, domain: Domain, host: str = "localhost", port: int | str = 6379, db: int | str = 0,
                 password: str | None = None, event_broker: Any = None,
                 record_exp: float | str | None = None, **kwargs: Any) -> None:
        super().__init__(domain, host=host, port=int(port), db=int(db), password=password or None,
                         event_broker=event_broker, record_exp=expiry_seconds(record_exp, DEFAULT_MAX_IDLE_SECONDS),
                         **kwargs)

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        """Like `RedisTrackerStore.save` (merge with what another server stored), then redact, then write.

        The redaction runs on the merged events: Rasa's merge keeps the stored events first (already redacted up to
        their last marker) and appends only the events new to this save, so a marker stored by another server still
        covers everything said before it, and a follow-up begun after it keeps its code until it is done.
        """
        await self.stream_events(tracker)
        key = self.key_prefix + tracker.sender_id
        stored = self.red.get(key)
        if stored is not None:
            tracker = self._merge_trackers(self.deserialise_tracker(tracker.sender_id, stored), tracker)
        self.red.set(key, serialise(tracker), ex=int(timeout or self.record_exp))
