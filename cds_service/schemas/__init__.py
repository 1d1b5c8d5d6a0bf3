"""marshmallow schemas of the CDS Hooks 2.0 wire format: requests in, cards out."""
