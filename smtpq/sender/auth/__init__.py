"""SMTP AUTH (RFC 4954): method choice as msmtp, SASL mechanisms, password sources."""
