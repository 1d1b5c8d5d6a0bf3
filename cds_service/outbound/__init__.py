"""What the service asks of other machines: HTTP GETs bounded by one deadline per thread
(bounded_http.py, deadline.py), name lookups within it (name_lookup.py), and a thread pool shared
fairly between the servers asked (fair_pool.py). Nothing here knows FHIR or CDS Hooks."""
