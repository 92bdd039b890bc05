"""Live delivery: the dashboard and its WebSocket feed.

`consumers` (the `/ws/opportunities/` socket: auth, subscribe, errors), `fanout` (one
listener per process hands each scan to every local socket, encoded once per filter set),
`routing` (WebSocket URLs), `views` (the dashboard and login pages), with the dashboard's
template and static files beside them.
"""
