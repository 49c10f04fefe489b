"""How the admin service is reached: its web UI and API, its bus routes, its CLI."""
