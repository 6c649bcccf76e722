"""Rule 5: which status moves each kind of caller may make, and the moves replies imply."""

from services.helpdesk.tickets.auth import ActorKind

OPEN = ("new", "in_progress", "waiting_for_customer", "solution_proposed")

# (who, from, asked) -> the status it leads to; anything not listed is a 409.
AGENT_MOVES: dict[tuple[str, str], str] = {
    ("new", "in_progress"): "in_progress",
    ("in_progress", "waiting_for_customer"): "waiting_for_customer",
    ("in_progress", "solution_proposed"): "solution_proposed",
    ("waiting_for_customer", "in_progress"): "in_progress",
    ("solution_proposed", "in_progress"): "in_progress",
    ("waiting_for_customer", "solution_proposed"): "solution_proposed",
    ("solution_proposed", "waiting_for_customer"): "waiting_for_customer",
    **{(status, "closed"): "closed" for status in OPEN},
}
CUSTOMER_MOVES: dict[tuple[str, str], str] = {
    # The customer accepts the proposed solution.
    ("solution_proposed", "closed"): "closed",
    # Only an auto-closed ticket, within the reopening period (checked by the service).
    ("closed", "reopened"): "in_progress",
}


def allowed_move(kind: ActorKind, current: str, asked: str) -> str | None:
    moves = AGENT_MOVES if kind == "agent" else CUSTOMER_MOVES
    return moves.get((current, asked))


def close_reason_for(kind: ActorKind) -> str:
    return "agent" if kind == "agent" else "accepted"
