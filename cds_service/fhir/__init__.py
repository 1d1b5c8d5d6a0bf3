"""The patient's record: what prefetch brought, what the EHR's FHIR server gives for the rest."""
