from enum import StrEnum


class Source(StrEnum):
    API = "api"
    HF = "hf"
    WEB = "web"

    def __str__(self) -> str:
        return str(self.value)
