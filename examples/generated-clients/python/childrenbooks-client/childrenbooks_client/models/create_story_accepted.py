from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.create_story_accepted_data import CreateStoryAcceptedData


T = TypeVar("T", bound="CreateStoryAccepted")


@_attrs_define
class CreateStoryAccepted:
    """
    Attributes:
        ok (Literal[True]):
        request_id (str):
        data (CreateStoryAcceptedData):
    """

    ok: Literal[True]
    request_id: str
    data: CreateStoryAcceptedData
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        request_id = self.request_id

        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
                "requestId": request_id,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_story_accepted_data import CreateStoryAcceptedData  # noqa: PLC0415

        d = dict(src_dict)
        ok = cast(Literal[True], d.pop("ok"))
        if ok != True:
            raise ValueError(f"ok must match const True, got '{ok}'")

        request_id = d.pop("requestId")

        data = CreateStoryAcceptedData.from_dict(d.pop("data"))

        create_story_accepted = cls(
            ok=ok,
            request_id=request_id,
            data=data,
        )

        create_story_accepted.additional_properties = d
        return create_story_accepted

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
