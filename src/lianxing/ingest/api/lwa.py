"""Login with Amazon (LWA): the OAuth token endpoint both Amazon APIs use.

SP-API and the Ads API are separate apps with separate consents, but both trade an
authorisation code or a refresh token at ``/auth/o2/token`` (form-encoded, with the
app's client id and secret) for a one-hour access token.
"""

from __future__ import annotations

import urllib.parse
from abc import ABC

from lianxing.ingest.api.base import AuthorisationRevoked, Connector, TokenSet, expires_in
from lianxing.ingest.api.http import RequestSpec, json_of


class LoginWithAmazon(Connector, ABC):
    """A connector authorised through LWA (``app_key`` = client id)."""

    def _lwa(self, form: dict[str, str]) -> TokenSet:
        body = urllib.parse.urlencode(
            {
                **form,
                "client_id": self.credentials.app_key,
                "client_secret": self.credentials.app_secret,
            }
        ).encode()
        response = self.auth_http.request(
            lambda: RequestSpec(
                "POST",
                "/auth/o2/token",
                headers={"content-type": "application/x-www-form-urlencoded"},
                content=body,
            )
        )
        data = json_of(response)
        if response.status_code != 200 or "access_token" not in data:
            raise AuthorisationRevoked(
                f"{self.id}: Login with Amazon refused ({data.get('error')}: "
                f"{data.get('error_description')}) / 亚马逊拒绝授权，请重新授权"
            )
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            access_expires_at=expires_in(data.get("expires_in")),
        )

    def _lwa_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._lwa(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    def refresh_tokens(self) -> TokenSet:
        assert self.credentials.refresh_token is not None
        return self._lwa(
            {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token}
        )
