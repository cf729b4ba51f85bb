"""Error and status code registries: Meta's Cloud API codes and the Messaging API codes.

Nothing else in wanode invents code numbers; every number used anywhere comes from here.
"""

from wanode.codes.meta import META_CODES, MetaCode, meta_code
from wanode.codes.webex import DR_CODES, SYNC, DrCode, dr_for_meta_code

__all__ = ["DR_CODES", "META_CODES", "SYNC", "DrCode", "MetaCode", "dr_for_meta_code", "meta_code"]
