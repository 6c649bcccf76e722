"""The one error every requisite check raises."""


class RequisiteError(ValueError):
    """A requisite that breaks a rule; the message names the rule in plain English.

    A `ValueError`, so raised inside a pydantic validator it becomes a 422 that names the field.
    """
