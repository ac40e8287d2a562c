"""A person at a keyboard with a Russian layout, for the keyboard-grid tests and bench/drafting.py.

Playwright's `keyboard.type` sends Cyrillic as bare text input with no keydown, which is not what a real
keyboard does (and the grid starts editing on a keydown). `text()` sends a keydown with the character for
every character through the Chrome DevTools Protocol, as a Russian layout does. The keyboard counts what it
did: characters of text, and every other key (Tab, Enter, arrows, shortcuts) as an action.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Keyboard:
    page: object
    chars: int = 0
    actions: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.cdp = self.page.context.new_cdp_session(self.page)

    def text(self, value: str) -> None:
        """Type `value` character by character; a line break is Shift+Enter (a new line in a text field)."""
        for char in value:
            if char == "\n":
                self.page.keyboard.press("Shift+Enter")
            else:
                self.cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": char, "text": char})
                self.cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char})
            self.chars += 1

    def press(self, key: str, times: int = 1) -> None:
        """A key that is not text (Tab, Enter, ArrowDown, Control+Enter, F2, Escape, Space…): one action each."""
        for _ in range(times):
            self.page.keyboard.press(key)
            self.actions += 1
            self.log.append(key)
