"""The response web app: answer pages, unsubscribe, signed imports, health and metrics.

`worker.surveys.web.app.create_app` builds the ASGI app; the store side of answers lives in
`worker.surveys.web.answers`, which imports no web framework, so the cycle can use it.
"""
