from enum import StrEnum


class Tone(StrEnum):
    ADVENTUROUS = "adventurous"
    ANIMAL = "animal"
    DAILY_LIFE_BASICS = "daily_life_basics"
    EDUCATIONAL = "educational"
    FANTASY_MAGIC = "fantasy_magic"
    HEARTWARMING = "heartwarming"
    PLAYFUL_FUNNY = "playful_funny"
    SCI_FI = "sci_fi"

    def __str__(self) -> str:
        return str(self.value)
