"""`opscheck serve`: /healthz, /metrics and the report folders over HTTP, read-only."""
