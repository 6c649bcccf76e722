from services.dongle.app import definition
from services.dongle.models import SCHEMA
from shared.migrations import run_environment

run_environment(definition.metadata, SCHEMA)
