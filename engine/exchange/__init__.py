"""The exchange between instances (跨区域联动, docs/exchange.md): a signed feed of this
instance's entry events for its peers, and pulling a peer's feed into this instance's log."""
