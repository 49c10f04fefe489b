"""BitLoot bus contracts: what travels on the `bitloot.events` exchange, and its documents.

- `bitloot_contracts.topics`: the exchange, topic and service names, who publishes and
  who consumes each topic.
- `bitloot_contracts.events`: one pydantic model per topic, `EVENT_TYPES` and
  `parse_event`.
- `bitloot_contracts.schemas`, `bitloot_contracts.asyncapi`: the JSON Schema of each event
  and the AsyncAPI document of the bus, as committed under `libs/contracts/schemas`.
- `bitloot_contracts.compat`: how a model differs from its committed schema.
- `bitloot_contracts.export`: the `bitloot-contracts export|check DIR` command.
"""
