"""The admin service's rules: login lockout and the views it assembles; no I/O."""
