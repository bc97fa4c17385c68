"""pytest fixtures for SDK authors (cbk_respx, cbk_server)."""
