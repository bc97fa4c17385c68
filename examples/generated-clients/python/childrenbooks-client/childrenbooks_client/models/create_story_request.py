from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.age_range import AgeRange
from ..models.language import Language
from ..models.style import Style
from ..models.tone import Tone

T = TypeVar("T", bound="CreateStoryRequest")


@_attrs_define
class CreateStoryRequest:
    """
    Attributes:
        story_idea (str): Plain-language description of the book (plot, characters, setting) — not a model prompt
            template.
        age_range (AgeRange): Target reading age band (vocabulary & themes). Case-sensitive.
        style (Style): Visual art style for illustrations. Case-sensitive — use `3d`, not `3D`.
            `watercolor` soft watercolor look; `oil_painting` oil texture and brushwork; `3d`
            3D-rendered / stylized CGI; `comic_style` comic or graphic-novel panels and inks; `crayon`
            crayon-like strokes, child-art feel; `colored_pencil` pencil texture and hatching;
            `paper_cut` paper-cut / layered silhouettes.
        page_count (int): Total pages including the cover; one credit per page. `7.0` counts as the integer 7; `"7"` and
            `true` do not.
        tone (Tone): Narrative mood / genre bucket (snake_case, exact). `playful_funny` humor-driven;
            `fantasy_magic` fairy tales and magic; `animal` animal characters and nature;
            `heartwarming` gentle emotions and kindness; `sci_fi` space, robots, kid-friendly future
            tech; `daily_life_basics` routines, family, school, feelings; `adventurous` exploration,
            quests, mild suspense; `educational` soft teaching angle.
        language (Language): Language of the story text. Lowercase English keys only (`english`, not `en`).
    """

    story_idea: str
    age_range: AgeRange
    style: Style
    page_count: int
    tone: Tone
    language: Language

    def to_dict(self) -> dict[str, Any]:
        story_idea = self.story_idea

        age_range = self.age_range.value

        style = self.style.value

        page_count = self.page_count

        tone = self.tone.value

        language = self.language.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "storyIdea": story_idea,
                "ageRange": age_range,
                "style": style,
                "pageCount": page_count,
                "tone": tone,
                "language": language,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        story_idea = d.pop("storyIdea")

        age_range = AgeRange(d.pop("ageRange"))

        style = Style(d.pop("style"))

        page_count = d.pop("pageCount")

        tone = Tone(d.pop("tone"))

        language = Language(d.pop("language"))

        create_story_request = cls(
            story_idea=story_idea,
            age_range=age_range,
            style=style,
            page_count=page_count,
            tone=tone,
            language=language,
        )

        return create_story_request
