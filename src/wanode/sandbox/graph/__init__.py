"""The Cloud API as clients call it (`routes`): messages and media (`messages`), templates
(`templates`), QR codes and short links (`entry_points`), phone numbers, business profiles,
settings, blocked users, registration and a WABA's numbers (`numbers`)."""
