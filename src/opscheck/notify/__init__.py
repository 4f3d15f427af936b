"""Notifications on state change: what changed (changes.py), how it reads (message.py),
where it goes (webhook.py, email.py), and sending without ever holding up the run (send.py)."""
