from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.age_range import AgeRange
from ..models.job_status import JobStatus
from ..models.language import Language
from ..models.source import Source
from ..models.style import Style
from ..models.tone import Tone
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.page import Page


T = TypeVar("T", bound="Story")


@_attrs_define
class Story:
    """
    Attributes:
        id (UUID):
        status (JobStatus): Latest generation task status; `unknown` if no task row exists yet.
        progress (int): Rough completion percentage from the latest task (defaults to 0); never decreases; 100 when
            completed.
        pages (list[Page]): Ordered by `index` ascending, without gaps or repeats; grows as text and illustrations are
            written. The cover is not an entry.
        title (None | str | Unset): Generated or edited title.
        slug (None | str | Unset): URL slug for the book on the website, when present.
        cover_image (None | str | Unset): Cover image URL.
        summary (None | str | Unset): Short synopsis.
        story_idea (None | str | Unset): The story idea stored on the book.
        age_range (AgeRange | None | Unset): Echo of the request's `ageRange` (e.g. `4-7`).
        style (None | Style | Unset): Illustration style key, as in the request.
        page_count (int | None | Unset): Target page count for the book (includes cover).
        tone (None | Tone | Unset): Tone / genre key, as in the request.
        language (Language | None | Unset): Story language key, as in the request.
        source (None | Source | Unset): Where the book was created — `web`, `api`, `hf` — or null.
        storage_provider (None | str | Unset): Storage backend identifier for assets, when applicable.
        created_at (datetime.datetime | None | Unset): When the book row was created (ISO 8601, UTC).
        updated_at (datetime.datetime | None | Unset): Last update to the book record (ISO 8601, UTC); never before
            createdAt.
        error_message (None | str | Unset): Human-readable failure reason when status is failed.
        completed_at (datetime.datetime | None | Unset): When generation completed (ISO 8601, UTC); null unless
            completed.
    """

    id: UUID
    status: JobStatus
    progress: int
    pages: list[Page]
    title: None | str | Unset = UNSET
    slug: None | str | Unset = UNSET
    cover_image: None | str | Unset = UNSET
    summary: None | str | Unset = UNSET
    story_idea: None | str | Unset = UNSET
    age_range: AgeRange | None | Unset = UNSET
    style: None | Style | Unset = UNSET
    page_count: int | None | Unset = UNSET
    tone: None | Tone | Unset = UNSET
    language: Language | None | Unset = UNSET
    source: None | Source | Unset = UNSET
    storage_provider: None | str | Unset = UNSET
    created_at: datetime.datetime | None | Unset = UNSET
    updated_at: datetime.datetime | None | Unset = UNSET
    error_message: None | str | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        status = self.status.value

        progress = self.progress

        pages = []
        for pages_item_data in self.pages:
            pages_item = pages_item_data.to_dict()
            pages.append(pages_item)

        title: None | str | Unset
        if isinstance(self.title, Unset):
            title = UNSET
        else:
            title = self.title

        slug: None | str | Unset
        if isinstance(self.slug, Unset):
            slug = UNSET
        else:
            slug = self.slug

        cover_image: None | str | Unset
        if isinstance(self.cover_image, Unset):
            cover_image = UNSET
        else:
            cover_image = self.cover_image

        summary: None | str | Unset
        if isinstance(self.summary, Unset):
            summary = UNSET
        else:
            summary = self.summary

        story_idea: None | str | Unset
        if isinstance(self.story_idea, Unset):
            story_idea = UNSET
        else:
            story_idea = self.story_idea

        age_range: None | str | Unset
        if isinstance(self.age_range, Unset):
            age_range = UNSET
        elif isinstance(self.age_range, AgeRange):
            age_range = self.age_range.value
        else:
            age_range = self.age_range

        style: None | str | Unset
        if isinstance(self.style, Unset):
            style = UNSET
        elif isinstance(self.style, Style):
            style = self.style.value
        else:
            style = self.style

        page_count: int | None | Unset
        if isinstance(self.page_count, Unset):
            page_count = UNSET
        else:
            page_count = self.page_count

        tone: None | str | Unset
        if isinstance(self.tone, Unset):
            tone = UNSET
        elif isinstance(self.tone, Tone):
            tone = self.tone.value
        else:
            tone = self.tone

        language: None | str | Unset
        if isinstance(self.language, Unset):
            language = UNSET
        elif isinstance(self.language, Language):
            language = self.language.value
        else:
            language = self.language

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        elif isinstance(self.source, Source):
            source = self.source.value
        else:
            source = self.source

        storage_provider: None | str | Unset
        if isinstance(self.storage_provider, Unset):
            storage_provider = UNSET
        else:
            storage_provider = self.storage_provider

        created_at: None | str | Unset
        if isinstance(self.created_at, Unset):
            created_at = UNSET
        elif isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        updated_at: None | str | Unset
        if isinstance(self.updated_at, Unset):
            updated_at = UNSET
        elif isinstance(self.updated_at, datetime.datetime):
            updated_at = self.updated_at.isoformat()
        else:
            updated_at = self.updated_at

        error_message: None | str | Unset
        if isinstance(self.error_message, Unset):
            error_message = UNSET
        else:
            error_message = self.error_message

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "progress": progress,
                "pages": pages,
            }
        )
        if title is not UNSET:
            field_dict["title"] = title
        if slug is not UNSET:
            field_dict["slug"] = slug
        if cover_image is not UNSET:
            field_dict["coverImage"] = cover_image
        if summary is not UNSET:
            field_dict["summary"] = summary
        if story_idea is not UNSET:
            field_dict["storyIdea"] = story_idea
        if age_range is not UNSET:
            field_dict["ageRange"] = age_range
        if style is not UNSET:
            field_dict["style"] = style
        if page_count is not UNSET:
            field_dict["pageCount"] = page_count
        if tone is not UNSET:
            field_dict["tone"] = tone
        if language is not UNSET:
            field_dict["language"] = language
        if source is not UNSET:
            field_dict["source"] = source
        if storage_provider is not UNSET:
            field_dict["storageProvider"] = storage_provider
        if created_at is not UNSET:
            field_dict["createdAt"] = created_at
        if updated_at is not UNSET:
            field_dict["updatedAt"] = updated_at
        if error_message is not UNSET:
            field_dict["errorMessage"] = error_message
        if completed_at is not UNSET:
            field_dict["completedAt"] = completed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.page import Page  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        status = JobStatus(d.pop("status"))

        progress = d.pop("progress")

        pages = []
        _pages = d.pop("pages")
        for pages_item_data in _pages:
            pages_item = Page.from_dict(pages_item_data)

            pages.append(pages_item)

        def _parse_title(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        title = _parse_title(d.pop("title", UNSET))

        def _parse_slug(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slug = _parse_slug(d.pop("slug", UNSET))

        def _parse_cover_image(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cover_image = _parse_cover_image(d.pop("coverImage", UNSET))

        def _parse_summary(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        summary = _parse_summary(d.pop("summary", UNSET))

        def _parse_story_idea(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        story_idea = _parse_story_idea(d.pop("storyIdea", UNSET))

        def _parse_age_range(data: object) -> AgeRange | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                age_range_type_0 = AgeRange(data)

                return age_range_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AgeRange | None | Unset, data)

        age_range = _parse_age_range(d.pop("ageRange", UNSET))

        def _parse_style(data: object) -> None | Style | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                style_type_0 = Style(data)

                return style_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Style | Unset, data)

        style = _parse_style(d.pop("style", UNSET))

        def _parse_page_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        page_count = _parse_page_count(d.pop("pageCount", UNSET))

        def _parse_tone(data: object) -> None | Tone | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                tone_type_0 = Tone(data)

                return tone_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Tone | Unset, data)

        tone = _parse_tone(d.pop("tone", UNSET))

        def _parse_language(data: object) -> Language | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                language_type_0 = Language(data)

                return language_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Language | None | Unset, data)

        language = _parse_language(d.pop("language", UNSET))

        def _parse_source(data: object) -> None | Source | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                source_type_0 = Source(data)

                return source_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Source | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        def _parse_storage_provider(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        storage_provider = _parse_storage_provider(d.pop("storageProvider", UNSET))

        def _parse_created_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        created_at = _parse_created_at(d.pop("createdAt", UNSET))

        def _parse_updated_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                updated_at_type_0 = datetime.datetime.fromisoformat(data)

                return updated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        updated_at = _parse_updated_at(d.pop("updatedAt", UNSET))

        def _parse_error_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_message = _parse_error_message(d.pop("errorMessage", UNSET))

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completedAt", UNSET))

        story = cls(
            id=id,
            status=status,
            progress=progress,
            pages=pages,
            title=title,
            slug=slug,
            cover_image=cover_image,
            summary=summary,
            story_idea=story_idea,
            age_range=age_range,
            style=style,
            page_count=page_count,
            tone=tone,
            language=language,
            source=source,
            storage_provider=storage_provider,
            created_at=created_at,
            updated_at=updated_at,
            error_message=error_message,
            completed_at=completed_at,
        )

        story.additional_properties = d
        return story

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
