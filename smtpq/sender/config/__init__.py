"""msmtp's configuration language: files, accounts, inheritance and account choice."""
