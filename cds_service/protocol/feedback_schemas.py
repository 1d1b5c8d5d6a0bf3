"""The feedback request (CDS Hooks 2.0, Feedback): which card, accepted or overridden, and when."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from marshmallow import ValidationError, fields, validate, validates_schema

from cds_service.protocol.base import PRINTABLE, UUID, BoundedList, Lenient

ACCEPTED, OVERRIDDEN = "accepted", "overridden"
# RFC 3339 section 5.6 date-time: a full date, a full time and an offset (no naive times).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


class Rfc3339DateTime(fields.Field):
    """An RFC 3339 date-time, as an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise ValidationError("must be an RFC 3339 date-time with an offset, e.g. 2021-12-11T10:05:31Z")
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("is not a valid date-time") from None
        return parsed.astimezone(timezone.utc)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat().replace("+00:00", "Z")


class ReasonCodingSchema(Lenient):
    system = fields.String(required=True, validate=[validate.Length(1, 255), PRINTABLE])
    code = fields.String(required=True, validate=[validate.Length(1, 255), PRINTABLE])
    display = fields.String()


class FeedbackOverrideReasonSchema(Lenient):
    reason = fields.Nested(ReasonCodingSchema)
    userComment = fields.String()


# Card and suggestion uuids are this service's own, and UUIDs: anything else was never issued.
class AcceptedSuggestionSchema(Lenient):
    id = fields.String(required=True, validate=UUID)


class FeedbackItemSchema(Lenient):
    card = fields.String(required=True, validate=UUID)
    outcome = fields.String(required=True, validate=validate.OneOf([ACCEPTED, OVERRIDDEN]))
    acceptedSuggestions = BoundedList(fields.Nested(AcceptedSuggestionSchema), max_items=100)
    overrideReason = fields.Nested(FeedbackOverrideReasonSchema)
    outcomeTimestamp = Rfc3339DateTime(required=True)

    @validates_schema
    def _outcome_fits(self, data, **kwargs):
        if data.get("outcome") == ACCEPTED:
            if not data.get("acceptedSuggestions"):
                raise ValidationError("required when outcome is 'accepted'", "acceptedSuggestions")
            if "overrideReason" in data:
                raise ValidationError("only with outcome 'overridden'", "overrideReason")
        if data.get("outcome") == OVERRIDDEN and data.get("acceptedSuggestions"):
            raise ValidationError("only with outcome 'accepted'", "acceptedSuggestions")


class FeedbackRequestSchema(Lenient):
    # A batch (CDS Hooks 2.0 allows several cards, several hook instances) of at most this many.
    feedback = BoundedList(fields.Nested(FeedbackItemSchema), required=True, validate=validate.Length(min=1),
                           max_items=1000)
