"""Gateway settings: the platform's, plus where the services live and how long to wait."""

from pydantic import Field

from shared.config import SERVICE_PORTS, PlatformSettings

MIB = 1024 * 1024


def _local_url(service: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[service]}"


class GatewaySettings(PlatformSettings):
    identity_url: str = _local_url("identity")
    licensing_url: str = _local_url("licensing")
    helpdesk_url: str = _local_url("helpdesk")
    dongle_url: str = _local_url("dongle")

    # Longest wait for a service's response headers (and between body chunks) before a 504.
    gateway_upstream_timeout: float = Field(default=15.0, gt=0)
    # A service that does not accept a connection this fast is treated as down (502/504 fast).
    gateway_connect_timeout: float = Field(default=5.0, gt=0)
    gateway_upstream_connections: int = Field(default=200, ge=1)
    gateway_max_body_bytes: int = Field(default=10 * MIB, ge=0)
    # Bodies up to this size (the JSON of every API call) are read whole before a service
    # connection is taken; larger ones (uploads) are streamed.
    gateway_buffered_body_bytes: int = Field(default=MIB, ge=0)
    # Longest wait for a request body (whole when read first, else between two chunks): 408.
    gateway_body_timeout: float = Field(default=10.0, gt=0)
    # Service connections one client address may hold at once (a quarter of the pool): 429.
    gateway_upstream_connections_per_address: int = Field(default=50, ge=1)
    # Readiness checks and OpenAPI fetches must answer quickly: they run on every probe.
    gateway_probe_timeout: float = Field(default=2.0, gt=0)
    # How long a service's OpenAPI document is reused before it is fetched again.
    gateway_openapi_ttl: float = Field(default=60.0, ge=0)

    # Authentication at the edge (docs/gateway.md). The issuer is identity's own setting name,
    # so one KABINET_JWT_ISSUER configures both sides.
    jwt_issuer: str = "kabinet"
    # Tolerated clock difference between identity and the gateway when checking `exp`/`nbf`.
    gateway_jwt_leeway_seconds: float = Field(default=5.0, ge=0)
    # The JWKS is fetched again after this long even if every `kid` seen is known.
    gateway_jwks_max_age_seconds: float = Field(default=300.0, gt=0)
    # Least time between two JWKS fetches, so tokens with made-up `kid`s cannot hammer identity.
    gateway_jwks_refetch_seconds: float = Field(default=5.0, ge=0)
    # How long identity's verdict on an API key (valid or not) is reused: a revoked key stops
    # working at most this much later.
    gateway_api_key_cache_seconds: float = Field(default=5.0, ge=0)
    gateway_api_key_cache_entries: int = Field(default=10_000, ge=1)
    # Unknown keys are remembered as long, in a cache of their own that cannot push out good keys.
    gateway_unknown_api_key_cache_entries: int = Field(default=10_000, ge=1)
    # Longest wait for identity's JWKS or API-key answer before the call is a 503.
    gateway_identity_timeout: float = Field(default=3.0, gt=0)

    # Rate limits, per replica (docs/gateway.md "Rate limits").
    anon_rate_per_minute: int = Field(default=60, ge=1)
    api_key_rate_per_minute: int = Field(default=600, ge=1)
    user_rate_per_minute: int = Field(default=1200, ge=1)

    def service_urls(self) -> dict[str, str]:
        """Base URL of every service, without a trailing slash, keyed by service name."""
        urls = {
            "identity": self.identity_url,
            "licensing": self.licensing_url,
            "helpdesk": self.helpdesk_url,
            "dongle": self.dongle_url,
        }
        return {name: url.rstrip("/") for name, url in urls.items()}


def get_settings() -> GatewaySettings:
    return GatewaySettings()
