"""E-mail notifications to staff: events, the outbox, deadline reminders, digests and the SMTP sender.

Imports nothing on purpose: the report store imports `integrity.notifications.events` from inside its use cases.
"""
