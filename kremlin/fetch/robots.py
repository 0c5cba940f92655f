"""robots.txt rules (RFC 9309) over the standard library's parser."""

from __future__ import annotations

import urllib.robotparser
from dataclasses import dataclass


@dataclass
class Robots:
    """What the site's robots.txt allows a user agent.

    Per RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot
    be read (5xx, network failure) allows nothing until it can be.
    """

    parser: urllib.robotparser.RobotFileParser
    agent: str

    @classmethod
    def from_response(cls, status: int | None, text: str, agent: str) -> Robots:
        parser = urllib.robotparser.RobotFileParser()
        if status is not None and 200 <= status < 300:
            parser.parse(text.splitlines())
        elif status is not None and 400 <= status < 500:
            parser.allow_all = True
        else:
            parser.disallow_all = True
        return cls(parser, agent)

    @classmethod
    def from_text(cls, text: str, agent: str) -> Robots:
        return cls.from_response(200, text, agent)

    @property
    def unreachable(self) -> bool:
        return self.parser.disallow_all

    def allowed(self, url: str) -> bool:
        return self.parser.can_fetch(self.agent, url)

    def crawl_delay(self) -> float | None:
        delay = self.parser.crawl_delay(self.agent)
        return float(delay) if delay is not None else None
