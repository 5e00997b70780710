"""The timed work that ``serve`` runs every minute and ``tick --now`` runs once.

Each job is idempotent and keyed, so two processes or a repeated tick never send a notice
twice: lot expiry entries, expiry warnings, lapsing held requests, and the technicians'
SLA warning and breach notices.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from gateway.clock import iso_utc
from gateway.desk import Desk
from gateway.pipeline.holds import lapse_holds
from gateway.pipeline.notify import notify
from gateway.pipeline.technician import recipients
from gateway.policy.calendar import format_local
from gateway.store import ledger
from gateway.store.db import Database
from gateway.store.models import Account, Lot, Ticket


def expire_lots(db: Database, desk: Desk, now: datetime) -> int:
    return db.write(lambda s: len(ledger.record_expiries(s, now)))


def warn_expiring(db: Database, desk: Desk, now: datetime) -> int:
    horizon = now + timedelta(days=desk.numbers.expiry_warning_days)

    def work(s):  # type: ignore[no-untyped-def]
        count = 0
        lots = s.scalars(select(Lot).where(Lot.warning_sent.is_(False), Lot.remaining > 0, Lot.expires_at > now, Lot.expires_at <= horizon, Lot.purchased_at <= now)).all()
        for lot in lots:
            account = s.get(Account, lot.account_id)
            lot.warning_sent = True
            notify(s, desk, "expiry_warning", to=account.primary_address, at=now, dedup_key=f"expiry-warning:{lot.id}", account=account, lot=lot)
            count += 1
        return count

    return db.write(work)


def sla_notices(db: Database, desk: Desk, now: datetime) -> dict[str, int]:
    def work(s):  # type: ignore[no-untyped-def]
        counts = {"sla_warning": 0, "sla_breach": 0}
        tickets = s.scalars(
            select(Ticket).where(Ticket.first_response_at.is_(None), Ticket.status == "open", Ticket.first_response_due.is_not(None), Ticket.sla_breached.is_(False)).order_by(Ticket.id)
        ).all()
        for t in tickets:
            account = s.get(Account, t.account_id)
            cal = desk.calendar(account.tz, account.country, account.subdiv)
            clock = cal.response_clock(t.opened_at)
            due_local = format_local(t.first_response_due, account.tz)
            if not t.sla_warned and clock.warn_at <= now < t.first_response_due:
                t.sla_warned = True
                for tech in recipients(desk):
                    notify(s, desk, "tech_sla_warning", to=tech, at=now, dedup_key=f"sla-warning:{t.number}:{tech}", ticket=t, account=account, deadline_utc=iso_utc(t.first_response_due), deadline_local=due_local, warn_minutes=desk.numbers.warn_before_minutes)
                counts["sla_warning"] += 1
            if t.first_response_due <= now:
                t.sla_breached = True
                t.sla_warned = True
                for tech in recipients(desk):
                    notify(s, desk, "tech_sla_breach", to=tech, at=now, dedup_key=f"sla-breach:{t.number}:{tech}", ticket=t, account=account, deadline_utc=iso_utc(t.first_response_due), deadline_local=due_local)
                counts["sla_breach"] += 1
        return counts

    return db.write(work)


def run_timed_work(db: Database, desk: Desk, now: datetime) -> dict[str, int]:
    report = {"expired_lots": expire_lots(db, desk, now), "expiry_warnings": warn_expiring(db, desk, now)}
    report["lapsed_holds"] = db.write(lambda s: lapse_holds(s, desk, now))
    report.update(sla_notices(db, desk, now))
    return report
