"""SQLAlchemy 2 models: the system of record. Import models from here."""

from castwatch.common.models.access import SCOPES, ApiKey, Lease
from castwatch.common.models.alerts import (
    ALERT_STATES,
    EVENT_KINDS,
    SEVERITIES,
    Alert,
    AlertEvent,
)
from castwatch.common.models.base import Base, utcnow
from castwatch.common.models.catalog import (
    CHANNEL_TYPES,
    PROTOCOLS,
    Channel,
    ChannelThumbnail,
    Probe,
    Template,
    TemplateRendition,
)
from castwatch.common.models.encoders import (
    DRIVER_KINDS,
    ENCODER_ROLES,
    Encoder,
    EncoderCommand,
    EncoderGroup,
    EncoderOutput,
    FailoverEvent,
)
from castwatch.common.models.incidents import (
    Incident,
    IncidentAlert,
    ScheduleItem,
    ScheduleSource,
)
from castwatch.common.models.notify import (
    ROLES,
    TRANSPORTS,
    Delivery,
    MaintenanceWindow,
    NotificationRule,
    NotifyCursor,
    PlannedEvent,
    Recipient,
    RecipientAddress,
)

__all__ = [
    "ALERT_STATES", "CHANNEL_TYPES", "DRIVER_KINDS", "ENCODER_ROLES", "EVENT_KINDS", "PROTOCOLS",
    "ROLES", "SCOPES", "SEVERITIES", "TRANSPORTS",
    "Alert", "AlertEvent", "ApiKey", "Base", "Channel", "ChannelThumbnail", "Delivery", "Encoder",
    "EncoderCommand", "EncoderOutput",
    "EncoderGroup", "FailoverEvent", "Lease", "MaintenanceWindow", "NotificationRule", "Probe",
    "NotifyCursor", "PlannedEvent", "Recipient",
    "RecipientAddress", "Template", "TemplateRendition", "utcnow",
    "Incident", "IncidentAlert", "ScheduleItem", "ScheduleSource",
]
