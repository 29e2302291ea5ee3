"""``lianxing connect --store ID``: authorise Lianxing to read a store through its platform API.

Two ways in:

* authorisation code: ``connect --store 3 --app-key K --app-secret S`` prints the URL the
  seller opens; paste the callback URL (or give it later with ``--callback URL`` /
  ``--code CODE``) and the code is exchanged for tokens;
* refresh token: ``connect --store 3 --app-key K --app-secret S --token-file FILE`` stores a
  refresh token the seller already has (the file holds only the token).

A store holds one connection per connector: ``connect --store 3 --connector amazon_ads``
adds the Ads connection next to the store's SP-API one (the platform's primary connector
is used when ``--connector`` is not given).

The app secret may come from ``LIANXING_APP_SECRET`` instead of the command line, to keep
it out of shell history. Secrets and tokens are stored encrypted with the workspace key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lianxing.cli.common import command_workspace, emit_json, fail
from lianxing.cli.root import app
from lianxing.ingest.api.base import AuthorisationError, connectors
from lianxing.ingest.api.http import ApiError
from lianxing.ingest.sync import (
    DEFAULT_REDIRECT_URI,
    SyncInputError,
    complete_authorisation,
    connect_with_refresh_token,
    parse_callback,
    start_authorisation,
)


def _account(pairs: list[str]) -> dict[str, str]:
    account: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--account: {pair!r} is not KEY=VALUE (e.g. shop_id=123456)")
        account[key.strip()] = value.strip()
    return account


@app.command("connect")
def connect(
    store: Annotated[int, typer.Option("--store", help="Store id / 店铺 ID")],
    app_key: Annotated[
        str | None, typer.Option(help="App key / client id / partner id / 应用 Key")
    ] = None,
    app_secret: Annotated[
        str | None, typer.Option(help="App secret (or LIANXING_APP_SECRET) / 应用密钥")
    ] = None,
    connector: Annotated[
        str | None,
        typer.Option(
            help="Connector id (default: the platform's primary one) / 连接器: "
            + ", ".join(sorted(connectors()))
        ),
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Account ids KEY=VALUE (shop_id=..., profile_id=...)")
    ] = None,
    redirect_uri: Annotated[str, typer.Option(help="Registered callback URL")] = (
        DEFAULT_REDIRECT_URI
    ),
    callback: Annotated[
        str | None, typer.Option(help="The callback URL the platform redirected to / 回调地址")
    ] = None,
    code: Annotated[str | None, typer.Option(help="The authorisation code / 授权码")] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="File holding a refresh token / 刷新令牌文件")
    ] = None,
    api_base: Annotated[str | None, typer.Option(help="API host (default: the platform's)")] = None,
    auth_base: Annotated[
        str | None, typer.Option(help="Auth host (default: the platform's)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
) -> None:
    """Authorise API access for a store / 授权店铺 API 访问."""
    with command_workspace(SyncInputError, AuthorisationError, ApiError) as ws:
        secret = app_secret or os.environ.get("LIANXING_APP_SECRET")
        accounts = _account(account or [])
        if token_file is not None:
            if not app_key or not secret:
                fail("--token-file needs --app-key and --app-secret (or LIANXING_APP_SECRET)")
            try:
                token = token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                fail(f"{token_file}: cannot read ({exc.strerror}) / 无法读取文件")
            if not token:
                fail(f"{token_file}: empty; expected a refresh token / 文件为空")
            view = connect_with_refresh_token(
                ws,
                store,
                app_key=app_key,
                app_secret=secret,
                refresh_token=token,
                connector_id=connector,
                account=accounts,
                api_base=api_base,
                auth_base=auth_base,
            )
        else:
            if app_key:
                if not secret:
                    fail("--app-secret (or LIANXING_APP_SECRET) is required with --app-key")
                url = start_authorisation(
                    ws,
                    store,
                    app_key=app_key,
                    app_secret=secret,
                    connector_id=connector,
                    account=accounts,
                    redirect_uri=redirect_uri,
                    api_base=api_base,
                    auth_base=auth_base,
                )
                if callback is None and code is None:
                    print(
                        "请让卖家打开以下链接授权 / Ask the seller to open this URL:",
                        file=sys.stderr,
                    )
                    print(url)
                    if not sys.stdin.isatty():
                        return
                    callback = input("回调地址 / callback URL: ").strip() or None
                    if callback is None:
                        return
            elif callback is None and code is None:
                fail("give --app-key (to start), or --callback/--code (to finish) / 参数不足")
            params = parse_callback(callback) if callback else {}
            if code:
                params["code"] = code
            params.update({k: v for k, v in accounts.items() if k not in params})
            view = complete_authorisation(
                ws, store, params, connector_id=connector, redirect_uri=redirect_uri
            )
    if as_json:
        emit_json(view)
    else:
        print(
            f"店铺 {store} 已授权 / store {store} connected: {view['connector']} ({view['status']})"
        )
