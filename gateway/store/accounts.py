"""Accounts and their contact addresses (repositories for the pipeline and the CLI)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import UserError
from gateway.store.models import Account, Contact

EDITIONS = ("community", "standard", "enterprise")


def by_address(s: Session, address: str) -> Account | None:
    """The account an address speaks for (primary or contact), case-insensitive."""
    return s.scalar(select(Account).join(Contact, Contact.account_id == Account.id).where(Contact.address == address.strip().lower()))


def require(s: Session, address: str) -> Account:
    account = by_address(s, address)
    if account is None:
        raise UserError(f"no account for {address}")
    return account


def add_account(s: Session, address: str, *, name: str, edition: str, tz: str, country: str | None, subdiv: str | None, refund: str, at: datetime) -> Account:
    address = address.strip().lower()
    if by_address(s, address) is not None:
        raise UserError(f"{address} already belongs to an account")
    account = Account(primary_address=address, name=name, edition=edition, tz=tz, country=country.upper() if country else None, subdiv=subdiv, refund=refund, created_at=at)
    account.contacts.append(Contact(address=address))
    s.add(account)
    s.flush()
    return account


def add_contact(s: Session, account: Account, address: str) -> Contact:
    address = address.strip().lower()
    other = by_address(s, address)
    if other is not None:
        raise UserError(f"{address} already belongs to the account of {other.primary_address}")
    contact = Contact(account_id=account.id, address=address)
    s.add(contact)
    return contact


def is_contact(s: Session, account_id: int, address: str) -> bool:
    return s.scalar(select(Contact.id).where(Contact.account_id == account_id, Contact.address == address.lower())) is not None
