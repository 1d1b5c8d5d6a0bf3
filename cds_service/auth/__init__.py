"""Who is calling: the EHR's JWT (CDS Hooks 2.0, Trusting CDS Clients), and when we may run open."""

from cds_service.auth.start_policy import check_start_policy, is_loopback
from cds_service.auth.tokens import OPEN, Authenticator, Principal

__all__ = ["OPEN", "Authenticator", "Principal", "check_start_policy", "is_loopback"]
