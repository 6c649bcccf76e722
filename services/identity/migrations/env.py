from services.identity.app import definition
from services.identity.models import SCHEMA
from shared.migrations import run_environment

run_environment(definition.metadata, SCHEMA)
