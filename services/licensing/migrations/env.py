from services.licensing.app import definition
from services.licensing.models import SCHEMA
from shared.migrations import run_environment

run_environment(definition.metadata, SCHEMA)
