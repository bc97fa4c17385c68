from enum import StrEnum


class AgeRange(StrEnum):
    AGES_0_3 = "0-3"
    AGES_4_7 = "4-7"
    AGES_8_12 = "8-12"

    def __str__(self) -> str:
        return str(self.value)
