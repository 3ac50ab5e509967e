"""The certificate keeper: obtains the edge's TLS certificate from an ACME CA (HTTP-01
through nginx's port-80 server), renews it at 2/3 of its life, and publishes each new
certificate so that nginx reloads it (docs/tls.md)."""
