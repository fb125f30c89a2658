"""smtpq's own SMTP/LMTP client: connection, replies, commands named after RFC verbs."""
