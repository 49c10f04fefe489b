"""How the world reaches delivery: its bus routes, its HTTP routes (the reveal page, the
customer's fresh link, the internal API) and its operator commands."""
