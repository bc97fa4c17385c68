from enum import StrEnum


class JobStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    PENDING = "pending"
    PROCESSING = "processing"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
