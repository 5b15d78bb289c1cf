"""The one place that reaches past the public API of the `mcp` SDK. Checked against mcp 2.3.0.

Nothing else in retention-mcp touches SDK internals (a test greps the package for them). Each hook here says why no
public way exists; when a release offers one, replace the hook and delete it from this file.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer, NotificationOptions

CHECKED_AGAINST = "2.3.0"


def advertise_list_changed(server: MCPServer) -> None:
    """Say `listChanged: true` for tools, prompts and resources in the initialize result.

    Why: handshake-era clients (protocol 2025-xx) only listen for list-changed notifications when the server's
    capabilities say so. `MCPServer` builds its initialization options itself on every transport
    (`run_stdio_async`, `streamable_http_app`) with the default `NotificationOptions()`, all False, and takes no
    setting for it. So the low-level server's `create_initialization_options` is wrapped to default to True for
    all three. On 2026-07-28 connections the SDK derives the flags from `subscriptions/listen` and ignores these.
    """
    lowlevel: Any = server._lowlevel_server  # no public accessor in 2.3.0
    create = lowlevel.create_initialization_options

    def with_list_changed(notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any) -> Any:
        options = notification_options or NotificationOptions(True, True, True)
        return create(options, *args, **kwargs)

    lowlevel.create_initialization_options = with_list_changed
