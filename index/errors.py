"""Domain errors. Each message says what went wrong and how to fix it, so callers can show it as is."""


class QuotebotError(Exception):
    """Base class for errors a user or an admin can act on."""


class EmptyQueryError(QuotebotError, ValueError):
    """The question has no words to search for."""


class SourceLoadError(QuotebotError):
    """A source file cannot be read or holds no usable text."""


class SourceNotFoundError(QuotebotError, KeyError):
    """A source id that the index does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown source"


class PassageNotFoundError(QuotebotError, LookupError):
    """A paragraph number outside a source's range."""


class IndexCorruptError(QuotebotError):
    """A built index on disk is unreadable or does not match its manifest."""


class IndexVersionError(QuotebotError):
    """A built index on disk has another format version: not damage, only a rebuild to do."""

    def __init__(self, found: object, expected: int) -> None:
        self.older = isinstance(found, int) and found < expected
        super().__init__(
            f"the index cache has format version {found}; this version of Quotebot reads "
            f"{expected} (it rebuilds the index)"
        )


class ModelLoadError(QuotebotError):
    """The embedding model cannot be loaded."""


class ExportUnsupportedError(ModelLoadError):
    """The model cannot be exported to ONNX as this project does it (torch can still encode)."""
