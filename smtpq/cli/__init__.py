"""Thin command-line front ends that call into ``smtpq.queue`` and ``smtpq.sender``."""
