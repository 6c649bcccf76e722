"""Every query of tickets and their threads."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import Ticket, TicketMessage
from shared.pagination import PageParams, decode_cursor, encode_cursor
from shared.problems import InvalidInput

# Stands for "no deadline" in the queue's order and cursor: after every real deadline.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
OPEN_STATUSES = ("new", "in_progress", "waiting_for_customer", "solution_proposed")


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, ticket: Ticket) -> Ticket:
        self.session.add(ticket)
        await self.session.flush()
        await self.session.refresh(ticket, ["seq"])
        return ticket

    async def get(self, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket | None:
        statement = select(Ticket).where(Ticket.id == ticket_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement.execution_options(populate_existing=True))

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def messages(self, ticket_id: uuid.UUID, *, with_notes: bool) -> list[TicketMessage]:
        statement = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
        if not with_notes:
            statement = statement.where(TicketMessage.kind != "note")
        rows = await self.session.scalars(
            statement.order_by(TicketMessage.created_at, TicketMessage.id)
        )
        return list(rows)

    async def newest_first(
        self, filters: Sequence[ColumnElement[bool]], params: PageParams
    ) -> tuple[list[Ticket], str | None]:
        """A customer's tickets, the newest first."""
        statement = select(Ticket).where(*filters)
        if params.cursor:
            (seq,) = decode_cursor(params.cursor, 1)
            if not isinstance(seq, int):
                raise InvalidInput("cursor", "not a cursor this API issued")
            statement = statement.where(Ticket.seq < seq)
        rows = list(
            await self.session.scalars(
                statement.order_by(Ticket.seq.desc()).limit(params.limit + 1)
            )
        )
        if len(rows) <= params.limit:
            return rows, None
        rows = rows[: params.limit]
        return rows, encode_cursor([rows[-1].seq])

    async def queue(
        self, filters: Sequence[ColumnElement[bool]], params: PageParams
    ) -> tuple[list[Ticket], str | None]:
        """Rule 3: partner, paid, free, none; within a tier the earliest deadline first."""
        due = func.coalesce(Ticket.first_response_due_at, NO_DEADLINE)
        statement = select(Ticket).where(*filters)
        if params.cursor:
            rank, due_text, seq = decode_cursor(params.cursor, 3)
            try:
                after = (int(rank), datetime.fromisoformat(str(due_text)), int(seq))
            except (TypeError, ValueError) as exc:
                raise InvalidInput("cursor", "not a cursor this API issued") from exc
            statement = statement.where(tuple_(Ticket.tier_rank, due, Ticket.seq) > after)
        rows = list(
            await self.session.scalars(
                statement.order_by(Ticket.tier_rank, due, Ticket.seq).limit(params.limit + 1)
            )
        )
        if len(rows) <= params.limit:
            return rows, None
        rows = rows[: params.limit]
        last = rows[-1]
        return rows, encode_cursor(
            [last.tier_rank, (last.first_response_due_at or NO_DEADLINE).isoformat(), last.seq]
        )

    async def mark_breached(self, now: datetime) -> list[uuid.UUID]:
        """Rule 2: unanswered tickets whose deadline has passed; each marked once."""
        result = await self.session.scalars(
            update(Ticket)
            .where(
                Ticket.first_responded_at.is_(None),
                Ticket.first_response_due_at <= now,
                Ticket.breached.is_(False),
                Ticket.status != "closed",
            )
            .values(breached=True)
            .returning(Ticket.id)
        )
        return list(result)

    async def due_for_auto_close(self, now: datetime, limit: int = 500) -> list[Ticket]:
        """Waiting tickets past their auto-close time, locked; a replica's rows are skipped."""
        rows = await self.session.scalars(
            select(Ticket)
            .where(
                Ticket.status.in_(("waiting_for_customer", "solution_proposed")),
                Ticket.auto_close_at <= now,
            )
            .order_by(Ticket.auto_close_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def with_running_clocks(self) -> list[Ticket]:
        """Open tickets whose deadlines depend on the calendar, locked for the recomputation."""
        rows = await self.session.scalars(
            select(Ticket)
            .where(
                Ticket.status != "closed",
                or_(
                    and_(
                        Ticket.first_response_due_at.is_not(None),
                        Ticket.first_responded_at.is_(None),
                        Ticket.breached.is_(False),
                    ),
                    Ticket.auto_close_at.is_not(None),
                ),
            )
            .order_by(Ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(rows)
