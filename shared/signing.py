"""Ed25519 signing keys as PEM and JWK (RFC 8037), with RFC 7638 thumbprints as key ids.

A service that signs documents others verify keeps the private key as PKCS#8 PEM (configured,
or generated once and shared by replicas through its database) and publishes the public half
as a JWK in a JWKS.
"""

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ED25519_ALGORITHM = "EdDSA"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_ed25519_pem() -> str:
    """A fresh private key as unencrypted PKCS#8 PEM."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@lru_cache(maxsize=16)
def load_ed25519(pem: str) -> Ed25519PrivateKey:
    """The private key of a PEM (parsed once per process); anything but Ed25519 is refused."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key in PEM form")
    return key


def ed25519_public_jwk(pem: str) -> dict[str, Any]:
    """The public JWK of a private key, its `kid` the RFC 7638 thumbprint."""
    raw = (
        load_ed25519(pem)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "use": "sig", "alg": ED25519_ALGORITHM}
