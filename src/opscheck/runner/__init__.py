"""`opscheck run`: the cron and CI entry point around one pytest run.

lock.py keeps overlapping runs apart, invoke.py runs pytest in a subprocess,
outcome.py reads the run's results.json into exit codes, cron mail and the
Nagios line, state.py remembers the last verdict per check for notifications.
"""
