"""The control panel (`routes`, `panel`): numbers, handsets and their settings, inboxes, the
receive log, faults, templates' statuses; and what a simulated customer does on their handset
(`actions`)."""
