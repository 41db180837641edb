"""The shapes of the ids that come from YAML and travel through forms, slots and the database."""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")  # topic, actor and route ids (topics.yml, profiles)
PROFILE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # an organisation profile: the file name in profiles/
