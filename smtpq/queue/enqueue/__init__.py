"""The per-mail enqueue: ``sendmail``'s queue mode, one mail into the store (stdlib only)."""
