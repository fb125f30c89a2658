"""The flush worker: lock and hand-off, claims, routes, verdicts, retry policy, stopping."""
