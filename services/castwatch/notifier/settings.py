"""Settings of the notifier, read from the environment by ``Settings.from_env``.

Every field has a default usable on a laptop. With neither ``TELEGRAM_BOT_TOKEN`` nor
``SMTP_HOST`` set, the notifier still runs: it plans deliveries and marks them failed with
"transport not configured".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from castwatch.common.egress import EgressPolicy
from castwatch.common.env import ConfigError, env_bind, env_choice, env_float, env_int, env_secret, env_str

SMTP_SECURITY = ("starttls", "tls", "none")
ROLES = ("cablecaster", "technician", "engineer", "management")
#: Who may press which Telegram button, by default: everyone acknowledges; engineers and
#: management resolve; everyone but cablecasters snoozes.
DEFAULT_BUTTON_ROLES = {
    "ack": ROLES,
    "resolve": ("engineer", "management"),
    "snooze": ("technician", "engineer", "management"),
}


@dataclass(frozen=True)
class TelegramSettings:
    """Bot token and Bot API location; ``token=None`` disables the Telegram transport."""

    token: str | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    timeout_s: float = 10.0
    per_chat_per_s: float = 1.0
    overall_per_s: float = 30.0
    poll_updates: bool = True
    long_poll_s: int = 20
    #: ``NOTIFY_CALLBACK_SECRET``: key of the HMAC on button callback data; None = derived from
    #: the bot token (see :func:`castwatch.notifier.signing.derive_key`).
    callback_secret: str | None = None

    @property
    def configured(self) -> bool:
        return self.token is not None


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP relay; ``host=None`` disables the email transport."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    security: str = "starttls"
    sender: str = "castwatch@localhost"
    timeout_s: float = 15.0
    ca_file: Path | None = None

    @property
    def configured(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class WebhookSettings:
    """Generic webhook transport: the HMAC secret that signs every body, timeouts.

    The transport is configured when a secret is set (an unsigned webhook is never sent).
    """

    secret: str | None = None
    timeout_s: float = 10.0
    max_body_bytes: int = 65536

    @property
    def configured(self) -> bool:
        return self.secret is not None


@dataclass(frozen=True)
class SlackSettings:
    """Slack incoming-webhook transport; each recipient address holds its own webhook URL."""

    enabled: bool = True
    timeout_s: float = 10.0
    #: Only URLs under this prefix are accepted (tests point it at a loopback stand-in).
    url_prefix: str = "https://hooks.slack.com/services/"

    @property
    def configured(self) -> bool:
        return self.enabled


@dataclass(frozen=True)
class NotifySettings:
    """Notifier process settings; see docs/notifier.md for every variable."""

    metrics_bind: tuple[str, int] = ("127.0.0.1", 9103)
    poll_interval_s: float = 2.0
    tick_interval_s: float = 5.0
    templates_dir: Path | None = None
    public_url: str | None = None
    batch_size: int = 50
    max_in_flight: int = 200
    claim_timeout_s: float = 120.0
    max_attempts: int = 8
    retry_base_s: float = 5.0
    retry_max_s: float = 600.0
    fallback_after_attempts: int = 3
    plan_horizon_s: int = 86400
    incident_update_s: float = 5.0
    telegram: TelegramSettings = TelegramSettings()
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    slack: SlackSettings = SlackSettings()
    #: where the HTTP transports (Slack, webhook) may post: their addresses are API rows
    egress: EgressPolicy = EgressPolicy()
    #: action (ack, resolve, snooze) → roles allowed to press that button
    button_roles: tuple[tuple[str, tuple[str, ...]], ...] = tuple(DEFAULT_BUTTON_ROLES.items())

    def roles_for(self, action: str) -> tuple[str, ...]:
        return dict(self.button_roles).get(action, ())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        templates = env_str(env, "NOTIFY_TEMPLATES_DIR")
        public_url = env_str(env, "NOTIFY_PUBLIC_URL")
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise ConfigError("NOTIFY_PUBLIC_URL", f"must be an http(s) URL, got {public_url!r}")
        return cls(
            metrics_bind=env_bind(env, "NOTIFY_METRICS_BIND", "127.0.0.1:9103"),
            poll_interval_s=env_float(env, "NOTIFY_POLL_INTERVAL_S", 2.0, minimum=0.05),
            tick_interval_s=env_float(env, "NOTIFY_TICK_INTERVAL_S", 5.0, minimum=0.1),
            templates_dir=Path(templates) if templates else None,
            public_url=public_url.rstrip("/") if public_url else None,
            batch_size=env_int(env, "NOTIFY_BATCH_SIZE", 50, minimum=1, maximum=1000),
            max_in_flight=env_int(env, "NOTIFY_MAX_IN_FLIGHT", 200, minimum=1),
            claim_timeout_s=env_float(env, "NOTIFY_CLAIM_TIMEOUT_S", 120.0, minimum=1.0),
            max_attempts=env_int(env, "NOTIFY_MAX_ATTEMPTS", 8, minimum=1),
            retry_base_s=env_float(env, "NOTIFY_RETRY_BASE_S", 5.0, minimum=0.0),
            retry_max_s=env_float(env, "NOTIFY_RETRY_MAX_S", 600.0, minimum=0.0),
            fallback_after_attempts=env_int(env, "NOTIFY_FALLBACK_AFTER_ATTEMPTS", 3, minimum=1),
            plan_horizon_s=env_int(env, "NOTIFY_PLAN_HORIZON_S", 86400, minimum=60),
            incident_update_s=env_float(env, "NOTIFY_INCIDENT_UPDATE_S", 5.0, minimum=0.0, maximum=3600.0),
            telegram=_telegram(env),
            smtp=_smtp(env),
            webhook=_webhook(env),
            slack=_slack(env),
            egress=EgressPolicy.from_env(env),
            button_roles=tuple((action, _roles(env, f"NOTIFY_{action.upper()}_ROLES", default))
                               for action, default in DEFAULT_BUTTON_ROLES.items()),
        )


def _roles(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env_str(env, name)
    if raw is None:
        return default
    roles = tuple(dict.fromkeys(r.strip() for r in raw.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ConfigError(name, f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    return roles


def _webhook(env: Mapping[str, str]) -> WebhookSettings:
    return WebhookSettings(
        secret=env_secret(env, "NOTIFY_WEBHOOK_SECRET"),
        timeout_s=env_float(env, "NOTIFY_WEBHOOK_TIMEOUT_S", 10.0, minimum=0.1, maximum=120.0),
    )


def _slack(env: Mapping[str, str]) -> SlackSettings:
    prefix = env_str(env, "NOTIFY_SLACK_URL_PREFIX", "https://hooks.slack.com/services/") or ""
    if not prefix.startswith(("http://", "https://")):
        raise ConfigError("NOTIFY_SLACK_URL_PREFIX", f"must be an http(s) URL, got {prefix!r}")
    return SlackSettings(
        enabled=env_choice(env, "NOTIFY_SLACK", "true", ("true", "false")) == "true",
        timeout_s=env_float(env, "NOTIFY_SLACK_TIMEOUT_S", 10.0, minimum=0.1, maximum=120.0),
        url_prefix=prefix,
    )


def _telegram(env: Mapping[str, str]) -> TelegramSettings:
    base = env_str(env, "TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot") or ""
    if not base.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_BASE_URL", f"must be an http(s) URL, got {base!r}")
    return TelegramSettings(
        token=env_secret(env, "TELEGRAM_BOT_TOKEN"),
        api_base_url=base,
        timeout_s=env_float(env, "TELEGRAM_TIMEOUT_S", 10.0, minimum=0.1),
        per_chat_per_s=env_float(env, "TELEGRAM_PER_CHAT_PER_S", 1.0, minimum=0.01, maximum=1.0),
        overall_per_s=env_float(env, "TELEGRAM_OVERALL_PER_S", 30.0, minimum=0.1, maximum=30.0),
        poll_updates=env_choice(env, "TELEGRAM_POLL_UPDATES", "true", ("true", "false")) == "true",
        long_poll_s=env_int(env, "TELEGRAM_LONG_POLL_S", 20, minimum=0, maximum=50),
        callback_secret=env_secret(env, "NOTIFY_CALLBACK_SECRET"),
    )


def _smtp(env: Mapping[str, str]) -> SmtpSettings:
    security = env_choice(env, "SMTP_SECURITY", "starttls", SMTP_SECURITY)
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    return SmtpSettings(
        host=env_str(env, "SMTP_HOST"),
        port=env_int(env, "SMTP_PORT", default_port, minimum=1, maximum=65535),
        username=env_str(env, "SMTP_USERNAME"),
        password=env_secret(env, "SMTP_PASSWORD"),
        security=security,
        sender=env_str(env, "SMTP_FROM", "castwatch@localhost") or "castwatch@localhost",
        timeout_s=env_float(env, "SMTP_TIMEOUT_S", 15.0, minimum=0.1),
        ca_file=_existing_file(env, "SMTP_CA_FILE"),
    )


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    value = env_str(env, name)
    if value is None:
        return None
    if not Path(value).is_file():
        raise ConfigError(name, f"no such file: {value}")
    return Path(value)
