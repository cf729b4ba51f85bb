"""What the platform holds (the store): business numbers and their Graph state (`numbers`,
`number_state`), handsets with their inboxes and sent messages (`handsets`), templates
(`templates`), media (`media`), QR codes and short links (`qrdls`), the receive log and the
idempotency keys. Plain data and lookups; the behaviour is `wanode.sandbox.platform`'s."""
