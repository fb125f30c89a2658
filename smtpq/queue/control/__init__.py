"""Queue control for the management commands: listing, purge/retry/hold, re-routing, health, msmtpq import."""
