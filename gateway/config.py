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
    # Readiness checks and OpenAPI fetches must answer quickly: they run on every probe.
    gateway_probe_timeout: float = Field(default=2.0, gt=0)
    # How long a service's OpenAPI document is reused before it is fetched again.
    gateway_openapi_ttl: float = Field(default=60.0, ge=0)

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
