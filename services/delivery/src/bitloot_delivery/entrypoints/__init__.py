"""How the world reaches delivery: its bus routes and its HTTP routes."""
