"""The gateway: the one public entry point in front of identity, licensing, helpdesk, dongle."""
