"""Word lists shared by the parser's rules."""

from __future__ import annotations

# Words that open a clause (pronouns, determiners, conjunctions, prepositions): a line
# starting with one begins a sentence, and a colon-ended text starting with one is not a
# speaker label.
CLAUSE_OPENERS = frozenset(
    [
        "After",
        "Also",
        "And",
        "As",
        "At",
        "Before",
        "But",
        "During",
        "For",
        "He",
        "Her",
        "Here",
        "His",
        "I",
        "If",
        "In",
        "It",
        "My",
        "Now",
        "On",
        "Our",
        "She",
        "So",
        "That",
        "Their",
        "Then",
        "These",
        "They",
        "This",
        "Those",
        "We",
        "When",
        "With",
        "You",
    ]
)
