from enum import StrEnum


class Language(StrEnum):
    CHINESE = "chinese"
    ENGLISH = "english"
    FRENCH = "french"
    GERMAN = "german"
    ITALIAN = "italian"
    JAPANESE = "japanese"
    KOREAN = "korean"
    PORTUGUESE = "portuguese"
    RUSSIAN = "russian"
    SPANISH = "spanish"

    def __str__(self) -> str:
        return str(self.value)
