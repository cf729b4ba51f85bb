"""Meta's rules, with no platform state: the errors (`errors`), how a request's fields are read
(`fields`), each message kind's checks (`kinds`, `validation`), template definitions
(`template_spec`) and sends (`hydration`), media types and sizes (`media`) and the checks of a
media link (`media_links`), reactions (`reactions`), rate limits (`rates`) and bearer tokens
(`tokens`). Imports only `wanode.sandbox.config`."""
