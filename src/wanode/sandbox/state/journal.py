"""Write-behind of the platform's state to its state file (`state_file`), and reading it back.

The state stays in memory, as without a file; the journal notes what changed and a flush
writes it, many changes in one transaction. The messages are the many: the platform marks each
inbox entry and each sent message that changes (`entry`, `sent`), at the cost of a dict
assignment, and a handset whose settings or identity change (`handset`). Everything else is
few and is compared at each flush with what was last written: numbers and their Graph state,
templates and the deleted names that cannot be reused yet, QR codes, the ids of stored media
(media never change, they are added or deleted), and the handsets met since.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wanode.sandbox.state import codec
from wanode.sandbox.state.handsets import Handset, Handsets, InboxEntry, SentEntry
from wanode.sandbox.state.media import MediaStore
from wanode.sandbox.state.number_state import NumberStates
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.qrdls import QrCodes
from wanode.sandbox.state.state_file import Batch, StateFile
from wanode.sandbox.state.templates import TemplateStore

NUMBER, NUMBER_STATE, TEMPLATE, DELETED_NAME = "number", "number_state", "template", "deleted_name"
HANDSET, INBOX, SENT, QR = "handset", "inbox", "sent", "qr"


class Journal:
    def __init__(
        self,
        file: StateFile,
        *,
        numbers: dict[str, BusinessNumber],
        number_states: NumberStates,
        templates: TemplateStore,
        handsets: Handsets,
        media: MediaStore,
        qrdls: QrCodes,
    ) -> None:
        self.file = file
        self._numbers = numbers
        self._number_states = number_states
        self._templates = templates
        self._handsets = handsets
        self._media = media
        self._qrdls = qrdls
        self._entries: dict[str, InboxEntry] = {}
        self._sent: dict[str, tuple[str, SentEntry]] = {}
        self._changed_handsets: dict[str, Handset] = {}
        # What the file holds of the few: (kind, key) -> body; handsets and media by count/id.
        self._written: dict[tuple[str, str], bytes] = {}
        self._handsets_written = 0
        self._media_written: set[str] = set()

    def entry(self, entry: InboxEntry) -> None:
        self._entries[entry.wamid] = entry

    def sent(self, handset: Handset, sent: SentEntry) -> None:
        self._sent[sent.wamid] = (handset.wa_id, sent)

    def handset(self, handset: Handset) -> None:
        self._changed_handsets[handset.wa_id] = handset

    def collect(self) -> Batch:
        """What changed since the last call, as rows to write."""
        batch = Batch()
        self._compare(batch, NUMBER, ((k, codec.number_json(n)) for k, n in self._numbers.items()))
        self._compare(
            batch,
            NUMBER_STATE,
            ((k, codec.number_state_json(s)) for k, s in self._number_states.items()),
        )
        self._compare(
            batch,
            TEMPLATE,
            ((t.template_id, codec.template_json(t)) for t in self._templates.all()),
        )
        self._compare(
            batch,
            DELETED_NAME,
            ((f"{waba}/{name}", at) for (waba, name), at in self._templates.deleted().items()),
        )
        self._compare(batch, QR, ((q.code, codec.qr_json(q)) for q in self._qrdls.all()))
        self._collect_media(batch)
        self._collect_handsets(batch)
        return batch

    def restore(self) -> list[tuple[Handset, InboxEntry, bool]]:
        """Fill the stores from the file; returns each inbox entry with its handset and whether
        it waits for the handset, in acceptance order, for the platform to resume."""
        for key, body in self.file.items(NUMBER):
            self._numbers[key] = codec.number_from(codec.loads(body))
            self._written[(NUMBER, key)] = body
        for key, body in self.file.items(NUMBER_STATE):
            self._number_states.restore(key, codec.number_state_from(codec.loads(body)))
            self._written[(NUMBER_STATE, key)] = body
        for key, body in self.file.items(TEMPLATE):
            self._templates.restore(codec.template_from(codec.loads(body)))
            self._written[(TEMPLATE, key)] = body
        for key, body in self.file.items(DELETED_NAME):
            waba_id, name = key.split("/", 1)
            self._templates.deleted()[(waba_id, name)] = codec.loads(body)
            self._written[(DELETED_NAME, key)] = body
        for key, body in self.file.items(QR):
            self._qrdls.restore(codec.qr_from(codec.loads(body)))
            self._written[(QR, key)] = body
        for media in self.file.media():
            self._media.restore(media)
            self._media_written.add(media.media_id)
        for _, body in self.file.items(HANDSET):
            self._handsets.restore(codec.handset_from(codec.loads(body)))
        self._handsets_written = self._handsets.count()
        for _, body in self.file.items(SENT):
            row = codec.loads(body)
            self._handsets.ensure(row.pop("wa_id")).sent.append(codec.sent_from(row))
        entries = []
        for _, body in self.file.items(INBOX):
            entry, waiting = codec.entry_from(codec.loads(body))
            handset = self._handsets.ensure(entry.wa_id)
            handset.inbox.append(entry)
            if waiting:
                handset.waiting.append(entry)
            entries.append((handset, entry, waiting))
        entries.sort(key=lambda found: found[1].accepted_at)
        return entries

    def _compare(self, batch: Batch, kind: str, current: Iterable[tuple[str, Any]]) -> None:
        seen = set()
        for key, value in current:
            seen.add(key)
            body = codec.dumps(value)
            if self._written.get((kind, key)) != body:
                self._written[(kind, key)] = body
                batch.upserts.append((kind, key, body))
        gone = [k for (known, k) in self._written if known == kind and k not in seen]
        for key in gone:
            del self._written[(kind, key)]
            batch.deletes.append((kind, key))

    def _collect_media(self, batch: Batch) -> None:
        ids = self._media.ids()
        for media_id in ids - self._media_written:
            media = self._media.get(media_id)
            if media is not None:
                batch.media.append(media)
        batch.media_deleted += self._media_written - ids
        self._media_written = ids

    def _collect_handsets(self, batch: Batch) -> None:
        # Handsets are never removed: those met since the last flush are the last ones.
        every = self._handsets.all()
        changed = self._changed_handsets
        for handset in every[self._handsets_written :]:
            changed[handset.wa_id] = handset
        self._handsets_written = len(every)
        self._changed_handsets = {}
        batch.upserts += [
            (HANDSET, wa_id, codec.dumps(codec.handset_json(h))) for wa_id, h in changed.items()
        ]
        sent, self._sent = self._sent, {}
        batch.upserts += [
            (SENT, wamid, codec.dumps({"wa_id": wa_id, **codec.sent_json(s)}))
            for wamid, (wa_id, s) in sent.items()
        ]
        entries, self._entries = self._entries, {}
        batch.upserts += [
            (INBOX, wamid, codec.dumps(codec.entry_json(e, waiting=_waits(e, self._handsets))))
            for wamid, e in entries.items()
        ]


def _waits(entry: InboxEntry, handsets: Handsets) -> bool:
    handset = handsets.get(entry.wa_id)
    return handset is not None and any(e is entry for e in handset.waiting)
