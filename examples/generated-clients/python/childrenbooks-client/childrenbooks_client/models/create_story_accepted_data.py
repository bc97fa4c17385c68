from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.create_story_accepted_data_status import CreateStoryAcceptedDataStatus

T = TypeVar("T", bound="CreateStoryAcceptedData")


@_attrs_define
class CreateStoryAcceptedData:
    """
    Attributes:
        task_id (UUID):
        book_id (UUID):
        status (CreateStoryAcceptedDataStatus): Initial job status, `pending` right after accept (and in a replay).
    """

    task_id: UUID
    book_id: UUID
    status: CreateStoryAcceptedDataStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_id = str(self.task_id)

        book_id = str(self.book_id)

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "taskId": task_id,
                "bookId": book_id,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task_id = UUID(d.pop("taskId"))

        book_id = UUID(d.pop("bookId"))

        status = CreateStoryAcceptedDataStatus(d.pop("status"))

        create_story_accepted_data = cls(
            task_id=task_id,
            book_id=book_id,
            status=status,
        )

        create_story_accepted_data.additional_properties = d
        return create_story_accepted_data

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
