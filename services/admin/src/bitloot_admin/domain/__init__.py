"""The admin service's rules, free of I/O: roles, passwords, the second factor, login
lockout and throttling, retention, what a refund, a flag or hand-entered keys allow, and
the views, listings, charts and stories it assembles from the other services' answers."""
