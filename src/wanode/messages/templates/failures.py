"""Which Messaging API code each way of failing a template send is reported with.

`FAILURE_CODES` is the one table; every template check raises `InvalidMessage` with a code
from it (or 7003/7004 for a malformed or absent value inside a parameter, as the rest of the
messages layer does). The codes and their wording are webex-connect.md §2.2. Where Meta has an
error for the same fault (cloud-api.md §8, in brackets), the code is the one that error maps to
(`dr_for_meta_code`), so a send refused here reports what a send refused by WhatsApp would.
INACTIVE is the exception: Meta answers 132001 (7849) there too, but §2.2 words 7805 for a
template that is inactive or not in the language asked for, which is what wanode knows.

    failure            code  §2.2 wording (Meta code)              raised when
    NOT_APPROVED       7849  Template does not exist (132001)       status PENDING, REJECTED,
                             "not approved, or wrong name/language"  IN_APPEAL, LIMIT_EXCEEDED,
                                                                    or one wanode does not know
    INACTIVE           7805  Template Missing "template inactive,   status PENDING_DELETION,
                             or missing for that language"          DELETED, ARCHIVED; a native
                                                                    send naming another name or
                                                                    language than the template's
    PAUSED             7869  Template is Paused (132015)            status PAUSED
    DISABLED           7868  Template is Disabled (132016)          status DISABLED
    COUNT_MISMATCH     7804  Template Param Count Mismatch          a parameter missing or extra;
                             (132000)                               quick-reply payloads not
                                                                    matching the buttons
    PARAM_TOO_LONG     7808  Template Param Length Too Long         one value alone longer than
                                                                    the text it fills allows
                                                                    (header 60, body 1024); an
                                                                    OTP or coupon code over 15
    HYDRATED_TOO_LONG  7809  Template Hydrated Text Too Long        each value fits, the header
                             (132005)                               or body filled in does not
    CHARACTER_POLICY   7811  Template Format Character Policy       a newline or tab, or more
                             Violated (132007)                      than 4 spaces in a row
    INVALID_URL        7813  Template Invalid Hydrated URL          a URL suffix that makes the
                                                                    button's URL invalid
    MEDIA_FORMAT       7814  Template Media Format Unsupported      a header media link or MIME
                                                                    type the header's kind does
                                                                    not take
    FORMAT_MISMATCH    7816  Template Parameter Format Mismatch     a value of the wrong type
                             (132012)                               (currency for a URL suffix,
                                                                    video for an image header);
                                                                    a malformed currency,
                                                                    date-time or OTP

An unknown template id is 7108 (`UNKNOWN_TEMPLATE_ID`, synchronous): the registry lookup is the
caller's, so nothing here raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType

from wanode.codes import DR_CODES, SYNC
from wanode.messages.templates.enums import TemplateStatus

UNKNOWN_TEMPLATE_ID = SYNC.INVALID_TEMPLATE_ID


class Failure(Enum):
    NOT_APPROVED = "not approved"
    INACTIVE = "inactive"
    PAUSED = "paused"
    DISABLED = "disabled"
    COUNT_MISMATCH = "count mismatch"
    PARAM_TOO_LONG = "parameter too long"
    HYDRATED_TOO_LONG = "hydrated text too long"
    CHARACTER_POLICY = "character policy"
    INVALID_URL = "invalid hydrated URL"
    MEDIA_FORMAT = "media format"
    FORMAT_MISMATCH = "format mismatch"


FAILURE_CODES: Mapping[Failure, str] = MappingProxyType(
    {
        failure: DR_CODES[code].code
        for failure, code in (
            (Failure.NOT_APPROVED, "7849"),
            (Failure.INACTIVE, "7805"),
            (Failure.PAUSED, "7869"),
            (Failure.DISABLED, "7868"),
            (Failure.COUNT_MISMATCH, "7804"),
            (Failure.PARAM_TOO_LONG, "7808"),
            (Failure.HYDRATED_TOO_LONG, "7809"),
            (Failure.CHARACTER_POLICY, "7811"),
            (Failure.INVALID_URL, "7813"),
            (Failure.MEDIA_FORMAT, "7814"),
            (Failure.FORMAT_MISMATCH, "7816"),
        )
    }
)

_STATUS_FAILURES: Mapping[TemplateStatus, Failure] = MappingProxyType(
    {
        TemplateStatus.PAUSED: Failure.PAUSED,
        TemplateStatus.DISABLED: Failure.DISABLED,
        TemplateStatus.PENDING_DELETION: Failure.INACTIVE,
        TemplateStatus.DELETED: Failure.INACTIVE,
        TemplateStatus.ARCHIVED: Failure.INACTIVE,
    }
)


def code_for(failure: Failure) -> str:
    return FAILURE_CODES[failure]


def status_failure(status: TemplateStatus) -> Failure | None:
    """Why a template in `status` cannot be sent, or None when it can (APPROVED)."""
    if status is TemplateStatus.APPROVED:
        return None
    return _STATUS_FAILURES.get(status, Failure.NOT_APPROVED)
