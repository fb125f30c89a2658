"""The persistent queue: store, enqueue and the flush worker."""
