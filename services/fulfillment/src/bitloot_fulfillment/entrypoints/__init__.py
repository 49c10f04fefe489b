"""How the world reaches fulfillment: its bus subscriptions, its internal API for the
admin service and the live status of an order over a WebSocket."""
