"""Platform settings, read from MOM_* environment variables (and an optional .env file).

Settings are never read at import time: call :func:`get_settings` (cached) and override it in tests.
"""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("mom-data"), description="files, attachments and the SQLite database")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in data_dir")
    timezone: str = Field(default="Asia/Shanghai", description="plant time zone for naive datetimes and dates")
    token_ttl_minutes: int = 12 * 60
    auth_cache_seconds: float = Field(default=5.0, description="how long a token's user, roles and departments are cached per "
                                      "process; revocation, expiry and a disabled user are checked on every request")
    # issue 16 items 5 and 6 (tokens): sign-in throttling and API tokens
    login_max_failures: int = Field(default=5, ge=1, description="failed sign-ins of one user name within the window "
                                    "before each further try has to wait (back-off)")
    login_lock_failures: int = Field(default=10, ge=1, description="failed sign-ins of one user name that lock it (until "
                                     "an administrator unlocks it or login_lock_minutes pass)")
    login_address_max_failures: int = Field(default=20, ge=1, description="failed sign-ins from one client address, over "
                                            "all user names, before back-off (shop-floor terminals share an address)")
    login_address_lock_failures: int = Field(default=0, ge=0, description="failed sign-ins from one address that lock it; "
                                             "0 (default): an address is only slowed down, never locked, so that one "
                                             "client cannot keep a shared (NAT, terminal) address locked for everyone")
    # issue 16 review, item 1: the client address behind a reverse proxy; an address's back-off stays short
    login_address_backoff_max_seconds: float = Field(default=30.0, ge=0, description="longest back-off wait of a client "
                                                     "address (a user name's own wait goes up to login_backoff_max_seconds)")
    trusted_proxies: str = Field(default="", description="comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8) "
                                 "of reverse proxies whose X-Forwarded-For is believed; empty: the header is ignored")
    login_window_minutes: float = Field(default=15.0, gt=0, description="failures older than this are forgotten "
                                        "(unless locked)")
    login_backoff_seconds: float = Field(default=1.0, ge=0, description="first back-off wait; doubles with each further failure")
    login_backoff_max_seconds: float = Field(default=300.0, ge=0, description="longest back-off wait")
    login_lock_minutes: float = Field(default=30.0, ge=0, description="how long a lock lasts; 0: until an administrator "
                                      "unlocks (POST /api/admin/users/{id}/unlock, `mom user unlock`)")
    login_hash_concurrency: int = Field(default=1, ge=1, le=64, description="password checks (scrypt, ~50 ms of one "
                                        "core each) running at once per worker process; more sign-ins wait their turn")
    api_token_default_days: int = Field(default=90, ge=1, description="expiry of an API token created without expires_in_days")
    api_token_max_days: int = Field(default=365, ge=1, description="the longest expires_in_days an API token may have")
    max_request_bytes: int = 20 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_bulk_records: int = 5000
    import_chunk_rows: int = 2000
    # imports cannot exhaust the server (issue 16, item 2): every bound of an import file; over one -> 413/422, nothing written
    import_max_rows: int = Field(default=200_000, ge=1, description="data rows of one import file (header not counted)")
    import_max_columns: int = Field(default=200, ge=1, description="columns of one import file")
    import_max_cell_chars: int = Field(default=32_767, ge=1, description="characters of one cell (Excel's own limit)")
    import_max_uncompressed_bytes: int = Field(default=256 * 1024 * 1024, ge=1024,
                                               description="an .xlsx's size once unpacked (the zip directory is checked first)")
    import_max_ratio: float = Field(default=100.0, ge=1, description="compression ratio of one part of an .xlsx (zip bombs); parts under 1 MiB exempt")
    import_max_seconds: float = Field(default=300.0, gt=0, description="time one import may take, reading and writing; then it rolls back")
    import_memory_bytes: int = Field(default=256 * 1024 * 1024, ge=0,
                                     description="checked rows that the imports running in one server process keep in memory "
                                     "between reading and writing; beyond it they go to a temporary file (slower, flat memory)")
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, description="`mom serve` on SIGTERM: how long running requests may finish; "
                                          "then they are cancelled (an import rolls back)")
    # workers (outbox, timers, schedules)
    worker_in_serve: bool = Field(default=True, description="`mom serve` runs one worker in-process (single-machine setup)")
    worker_poll_seconds: float = 1.0
    worker_batch: int = 50
    worker_lease_seconds: float = Field(default=60.0, description="a claimed event returns to the queue after this if its worker died")
    worker_max_attempts: int = Field(default=8, description="failed attempts before an event goes to the dead-letter list")
    # reports
    schedule_max_seconds: float = Field(default=120.0, description="longest solve the API allows (time_limit is capped to it)")
    schedule_workers: int = Field(default=2, description="CP-SAT search workers per solve")
    production_overrun: Decimal = Field(default=Decimal(0), ge=0, le=1000, description="job reports (issue 19): how far, "
                                        "in percent, an operation's good quantity may exceed what its predecessor passed "
                                        "(the first: the order quantity); 0: not at all")
    production_breakdown_hours: float = Field(default=4.0, gt=0, le=720, description="a machine set to down (issue 19): "
                                              "how long, in hours, the proposed reschedule keeps it out from now")
    report_max_scan_rows: int = Field(default=2_000_000, description="a report that would read more rows is refused (a report may set its own max_scan_rows)")
    # notification channels
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "mom@localhost"
    smtp_starttls: bool = False
    dingtalk_webhook: str = Field(default="", description="DingTalk group robot URL (…/robot/send?access_token=…)")
    dingtalk_secret: str = Field(default="", description="DingTalk robot signing secret (SEC…)")
    wecom_webhook: str = Field(default="", description="WeCom group robot URL (…/webhook/send?key=…)")
    # issue 23: device data over MQTT (connectors/mqtt/client.py, `mom devices listen`; docs/devices.md)
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host (Mosquitto or any MQTT 3.1.1/5 broker)")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port (8883 with TLS)")
    mqtt_user: str = Field(default="", description="MQTT user name; empty: anonymous")
    mqtt_password: str = Field(default="", description="MQTT password")
    mqtt_tls: bool = Field(default=False, description="connect with TLS (system CA store, or mqtt_ca_file)")
    mqtt_ca_file: str = Field(default="", description="CA certificate file (PEM) of the broker's TLS certificate")
    mqtt_client_id: str = Field(default="mom-devices", description="client id of the consumer; its persistent session "
                                "(queued QoS 1 messages while it is down) belongs to this id")
    mqtt_topics: str = Field(default="mom/#", description="topic filters to subscribe, comma-separated (MQTT wildcards + and #)")
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0, description="how long the broker keeps the consumer's "
                                       "session and queued messages while it is disconnected (MQTT 5)")
    mqtt_flush_ms: int = Field(default=200, ge=10, le=10_000, description="longest wait before received messages are written")
    mqtt_flush_messages: int = Field(default=2000, ge=1, le=100_000, description="messages written per transaction at most")
    mqtt_max_payload_bytes: int = Field(default=64 * 1024, ge=256, description="larger payloads are logged and skipped")
    # issue 16 item 6 (defaults): production mode, PATCH preconditions
    production: bool = Field(default=False, description="production mode: /docs, /redoc and /openapi.json need a signed-in "
                             "user, and `mom serve` refuses to start while a demo password (admin/admin123 …) still works")
    require_row_version: bool = Field(default=True, description="PATCH of a record needs its row_version (body) or If-Match; "
                                      "without it: 428. false lets integrations overwrite blindly (last write wins)")
    # issue 16 item 7 (no server errors): input bounds checked before any handler
    max_json_depth: int = Field(default=64, ge=2, le=1000, description="deepest nesting of a JSON request body; deeper is refused (422)")
    # issue 16 item 7 (templates and formulas): limits of one print-template or notification render
    template_max_output_bytes: int = Field(default=5_000_000, ge=10_000, description="largest text a template may produce "
                                           "(UTF-8 bytes; also any text or list it builds on the way); more is refused (413)")
    template_max_seconds: float = Field(default=5.0, gt=0, description="longest render of a template (at publish the trial "
                                        "render stops at 2 s); longer is refused (422)")
    template_max_range: int = Field(default=100_000, ge=1, description="most numbers a template's range() may hold")
    template_max_loop_steps: int = Field(default=1_000_000, ge=1, description="most steps of all for-loops in one render")
    # issue 18: model packs — where the pack manager finds them besides the built-in ones, and uploads
    pack_path: str = Field(default="", description="folders holding packs (each a pack folder or a folder of pack "
                           "folders), separated like PATH (':' on Linux); MOM_PACK_PATH")
    pack_upload_code: bool = Field(default=False, description="accept uploaded packs that carry Python code (hooks.py, "
                                   "migrations); off: such a pack is refused and must be put on the server (MOM_PACK_PATH)")
    pack_upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="largest pack .zip that may be uploaded")
    pack_max_unpacked_bytes: int = Field(default=100 * 1024 * 1024, ge=1024,
                                         description="an uploaded pack .zip's files once unpacked, all together (counted while unpacking)")
    pack_max_files: int = Field(default=2000, ge=1, description="entries in an uploaded pack .zip")
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = Field(default=1, ge=1, le=64, description="HTTP worker processes of `mom serve` (e.g. 2 on a 2-core "
                             "server); each keeps its own caches, every one checked against the database")

    def resolved_database_url(self) -> str:
        """The database URL, with the embedded SQLite default and the psycopg 3 driver filled in."""
        url = self.database_url.strip()
        if not url:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{(self.data_dir / 'mom.sqlite3').resolve()}"
        return normalize_database_url(url)


def normalize_database_url(url: str) -> str:
    """Map plain ``postgresql://`` (and ``postgres://``) URLs onto the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
