"""The CDS Hooks 2.0 protocol: services and hooks as tables, the wire schemas, cards as JSON."""
