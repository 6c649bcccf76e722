from services.helpdesk.app import definition
from services.helpdesk.models import SCHEMA
from shared.migrations import run_environment

run_environment(definition.metadata, SCHEMA)
