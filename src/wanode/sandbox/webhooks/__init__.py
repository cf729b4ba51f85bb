"""The webhook emitter: what Meta posts (`payloads` for statuses and the envelope, `inbound` for
what handsets send, `identity` for the identity key hashes) and its signed, ordered delivery
(`delivery`)."""
