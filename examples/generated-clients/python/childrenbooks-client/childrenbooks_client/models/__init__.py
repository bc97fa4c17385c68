"""Contains all the data models used in inputs/outputs"""

from .age_range import AgeRange
from .create_story_accepted import CreateStoryAccepted
from .create_story_accepted_data import CreateStoryAcceptedData
from .create_story_accepted_data_status import CreateStoryAcceptedDataStatus
from .create_story_request import CreateStoryRequest
from .error import Error
from .error_code import ErrorCode
from .error_envelope import ErrorEnvelope
from .error_fields import ErrorFields
from .error_meta import ErrorMeta
from .job_status import JobStatus
from .language import Language
from .page import Page
from .source import Source
from .story import Story
from .story_envelope import StoryEnvelope
from .style import Style
from .tone import Tone

__all__ = (
    "AgeRange",
    "CreateStoryAccepted",
    "CreateStoryAcceptedData",
    "CreateStoryAcceptedDataStatus",
    "CreateStoryRequest",
    "Error",
    "ErrorCode",
    "ErrorEnvelope",
    "ErrorFields",
    "ErrorMeta",
    "JobStatus",
    "Language",
    "Page",
    "Source",
    "Story",
    "StoryEnvelope",
    "Style",
    "Tone",
)
