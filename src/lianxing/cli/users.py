"""``lianxing user add|list`` and ``lianxing grant add|revoke|list``."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from lianxing.accounts.service import (
    AccountError,
    add_grant,
    add_user,
    create_org,
    find_org,
    grant_json,
)
from lianxing.accounts.service import revoke_grant as revoke
from lianxing.cli.common import command_session, emit_json, fail
from lianxing.cli.root import app
from lianxing.db.models import AccessGrant, Membership, Organisation, Store, User
from lianxing.domain.time import utcnow

user_app = typer.Typer(help="Users / 用户", no_args_is_help=True)
grant_app = typer.Typer(help="Agency access grants / 服务商授权", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(grant_app, name="grant")


@user_app.command("add")
def user_add(
    email: str = typer.Option(..., help="login e-mail"),
    org: str = typer.Option(..., help="organisation id or exact name (created if new)"),
    role: str = typer.Option(..., help="owner, admin, ops, cs, logistics, ads, viewer"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input"
    ),
    name: str | None = typer.Option(None, help="display name"),
    org_kind: str = typer.Option("seller", help="kind of a new organisation: seller or agency"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Add a user to an organisation (or give an existing user another role). 添加用户"""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with command_session(AccountError) as session:
        found = find_org(session, org)
        if found is None:
            if org.strip().isdigit():
                fail(f"--org: no organisation with id {org}")
            found = create_org(session, name=org, kind=org_kind, actor="cli")
        user = add_user(
            session,
            email=email,
            password=password,
            org_id=found.id,
            role=role,
            actor="cli",
            display_name=name,
        )
        result = {"id": user.id, "email": user.email, "org_id": found.id, "role": role}
    if as_json:
        emit_json(result)
    else:
        Console().print(
            f"[green]用户已添加 / user added:[/] #{result['id']} {result['email']} "
            f"({role} @ org {result['org_id']})"
        )


@user_app.command("list")
def user_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users and their memberships. 用户列表"""
    with command_session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": u.id,
                "email": u.email,
                "display_name": u.display_name,
                "active": u.is_active,
                "org_id": o.id,
                "org_name": o.name,
                "org_kind": o.kind,
                "role": m.role,
            }
            for u, m, o in session.execute(
                select(User, Membership, Organisation)
                .join(Membership, Membership.user_id == User.id)
                .join(Organisation, Organisation.id == Membership.org_id)
                .order_by(User.id, Organisation.id)
            )
        ]
    if as_json:
        emit_json({"users": rows})
        return
    table = Table("ID", "E-mail", "名称 Name", "组织 Org", "类型 Kind", "角色 Role")
    for r in rows:
        table.add_row(
            str(r["id"]), r["email"], r["display_name"], r["org_name"], r["org_kind"], r["role"]
        )
    Console().print(table)


def _parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"--expires: {value!r} is not a date; expected YYYY-MM-DD or YYYY-MM-DDTHH:MM")


@grant_app.command("add")
def grant_add(
    agency: str = typer.Option(..., help="agency organisation id or exact name"),
    store: int = typer.Option(..., help="store id"),
    scope: str = typer.Option("read", help="read, operate or manage"),
    expires: str | None = typer.Option(None, help="YYYY-MM-DD (UTC); none: until revoked"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Grant an agency access to a store. 授权服务商访问店铺"""
    expires_at = _parse_expiry(expires)
    with command_session(AccountError) as session:
        org = find_org(session, agency)
        if org is None:
            fail(f"--agency: no organisation {agency!r}")
        grant = add_grant(
            session,
            agency_org_id=org.id,
            store_id=store,
            scope=scope,
            expires_at=expires_at,
            actor="cli",
        )
        store_row = session.get(Store, store)
        assert store_row is not None
        body = grant_json(grant, store_row, org, utcnow())
    if as_json:
        emit_json(body)
    else:
        Console().print(
            f"[green]已授权 / granted:[/] #{body['id']} {body['agency_name']} → "
            f"{body['store_name']} ({scope}, expires {body['expires_at'] or 'never'})"
        )


@grant_app.command("revoke")
def grant_revoke(
    grant_id: int = typer.Argument(..., help="grant id (see `lianxing grant list`)"),
    reason: str | None = typer.Option(None, help="why, for the audit log"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Revoke a grant now. 撤销授权"""
    with command_session(AccountError) as session:
        grant = revoke(session, grant_id, reason=reason, actor="cli")
        store_row = session.get(Store, grant.store_id)
        org = session.get(Organisation, grant.agency_org_id)
        assert store_row is not None and org is not None
        body = grant_json(grant, store_row, org, utcnow())
    if as_json:
        emit_json(body)
    else:
        Console().print(f"[green]已撤销 / revoked:[/] grant #{grant_id}")


@grant_app.command("list")
def grant_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List grants with their status. 授权列表"""
    with command_session() as session:
        now = utcnow()
        rows = []
        for grant in session.scalars(select(AccessGrant).order_by(AccessGrant.id)):
            store_row = session.get(Store, grant.store_id)
            org = session.get(Organisation, grant.agency_org_id)
            assert store_row is not None and org is not None
            rows.append(grant_json(grant, store_row, org, now))
    if as_json:
        emit_json({"grants": rows})
        return
    table = Table("ID", "店铺 Store", "服务商 Agency", "范围 Scope", "到期 Expires", "状态 Status")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["store_name"],
            r["agency_name"],
            r["scope"],
            r["expires_at"] or "—",
            r["status"],
        )
    Console().print(table)
