from enum import StrEnum


class Style(StrEnum):
    COLORED_PENCIL = "colored_pencil"
    COMIC_STYLE = "comic_style"
    CRAYON = "crayon"
    OIL_PAINTING = "oil_painting"
    PAPER_CUT = "paper_cut"
    THREE_D = "3d"
    WATERCOLOR = "watercolor"

    def __str__(self) -> str:
        return str(self.value)
