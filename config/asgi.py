"""ASGI entry point: HTTP through Django, WebSocket through Channels.

WebSocket scopes get the session user (AuthMiddlewareStack); the consumer also accepts a
JWT and checks the Origin of cookie-authenticated sockets itself (live.consumers).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models (the routing does).
django_asgi_app = get_asgi_application()

from config.checks import require_secret_key  # noqa: E402

require_secret_key()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
