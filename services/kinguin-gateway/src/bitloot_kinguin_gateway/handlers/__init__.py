"""The gateway's use cases, a class each, on the repositories of `ports.GatewayWork`: one
per consumed event, Kinguin webhook or internal request, and the background passes
(polling Kinguin, the catalog, the balance, retention)."""
