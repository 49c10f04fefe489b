"""The gateway's use cases, a class each, working on the repositories of `ports.GatewayWork`."""
