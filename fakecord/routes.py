"""The fake's REST routing table: method, path template (relative to ``/api/v10``), handler,
whether it needs the bot token."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .records import RecordedRequest

if TYPE_CHECKING:
    from .server import FakeDiscord
from .rest import RestHandlers, Result
from .rest_interactions import InteractionHandlers

Handler = Callable[["FakeDiscord", RecordedRequest], Awaitable[Result]]


@dataclasses.dataclass(frozen=True)
class Route:
    """One REST route of the fake: ``template`` like ``/channels/{channel_id}/messages``."""

    method: str
    template: str
    handler: Handler
    auth: bool = True


_H = RestHandlers
_I = InteractionHandlers
_MSG = "/channels/{channel_id}/messages/{message_id}"
_APP = "/applications/{application_id}"
_GUILD_CMDS = _APP + "/guilds/{guild_id}/commands"
_WEBHOOK = "/webhooks/{application_id}/{token}"

#: The routing table; literal routes come before templated ones that would also match.
ROUTES: list[Route] = [
    Route("GET", "/users/@me", _H.get_me),
    Route("POST", "/users/@me/channels", _H.create_dm),
    Route("GET", "/users/{user_id}", _H.get_user),
    Route("GET", "/oauth2/applications/@me", _H.get_application),
    Route("GET", "/applications/@me", _H.get_application),
    Route("GET", "/gateway", _H.get_gateway, auth=False),
    Route("GET", "/gateway/bot", _H.get_gateway_bot),
    Route("GET", "/guilds/{guild_id}", _H.get_guild),
    Route("GET", "/guilds/{guild_id}/channels", _H.get_guild_channels),
    Route("GET", "/guilds/{guild_id}/roles", _H.get_guild_roles),
    Route("GET", "/guilds/{guild_id}/members/{user_id}", _H.get_guild_member),
    Route("GET", _APP + "/commands", _H.get_commands),
    Route("PUT", _APP + "/commands", _H.put_commands),
    Route("POST", _APP + "/commands", _H.post_command),
    Route("GET", _APP + "/commands/{command_id}", _H.get_command),
    Route("PATCH", _APP + "/commands/{command_id}", _H.patch_command),
    Route("DELETE", _APP + "/commands/{command_id}", _H.delete_command),
    Route("GET", _GUILD_CMDS, _H.get_commands),
    Route("PUT", _GUILD_CMDS, _H.put_commands),
    Route("POST", _GUILD_CMDS, _H.post_command),
    Route("GET", _GUILD_CMDS + "/{command_id}", _H.get_command),
    Route("PATCH", _GUILD_CMDS + "/{command_id}", _H.patch_command),
    Route("DELETE", _GUILD_CMDS + "/{command_id}", _H.delete_command),
    Route("GET", "/channels/{channel_id}", _H.get_channel),
    Route("GET", "/channels/{channel_id}/messages", _H.get_messages),
    Route("POST", "/channels/{channel_id}/messages", _H.post_message),
    Route("GET", _MSG, _H.get_message),
    Route("PATCH", _MSG, _H.patch_message),
    Route("DELETE", _MSG, _H.delete_message),
    Route("POST", "/channels/{channel_id}/typing", _H.typing),
    Route("PUT", _MSG + "/reactions/{emoji}/@me", _H.put_reaction),
    Route("DELETE", _MSG + "/reactions/{emoji}/@me", _H.delete_reaction),
    Route("POST", _MSG + "/threads", _H.thread_from_message),
    Route("POST", "/channels/{channel_id}/threads", _H.thread_without_message),
    Route(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        _I.interaction_callback,
        auth=False,
    ),
    Route("POST", _WEBHOOK, _I.webhook_post, auth=False),
    Route("GET", _WEBHOOK + "/messages/{message_id}", _I.webhook_get_message, auth=False),
    Route("PATCH", _WEBHOOK + "/messages/{message_id}", _I.webhook_patch_message, auth=False),
    Route("DELETE", _WEBHOOK + "/messages/{message_id}", _I.webhook_delete_message, auth=False),
]
