"""Sealed variant codes: what a class set prints instead of an exercise's seed.

A worksheet or the workbook prints each exercise's identity (``byhand:linear:seed=7:level=medium``)
so anyone can make its key again: right for practice, wrong for homework or a test, where a student
would read the footer and run ``byhand make``. A class set prints a *sealed code* instead, e.g.
``7KQ2M-XHD4P-9RT3V-KW8N0``: the variant (chapter, level, seed) encrypted and authenticated with
keys derived from a class secret that only the teacher has. ``byhand key CODE`` opens it with that
secret and makes the exercise and its answers again; without the secret the code says nothing
about the seed or the answers.

The construction (deterministic, so the same secret and command give the same PDF):

- two keys from the 32-byte secret: ``K_mac = HMAC-SHA256(secret, "byhand-seal/1 mac")`` and
  ``K_enc = HMAC-SHA256(secret, "byhand-seal/1 enc")``;
- the variant packed into 6 bytes P: the chapter (1 byte), then the level (2 bits) and the seed
  (38 bits, offset by 2^37);
- the tag ``T = HMAC-SHA256(K_mac, P)[:5]`` (a synthetic IV, as in SIV mode), the ciphertext
  ``C = P XOR HMAC-SHA256(K_enc, T)[:6]``;
- the code: ``T ‖ C`` (88 bits) in Crockford base 32 (18 characters; no I, L, O or U), then two
  check characters (10 bits of SHA-256 over those 18) so a typo is told apart from a wrong secret.

Only a holder of the secret can recompute the keystream or the tag: the code is a pseudorandom
string to anyone else, and two students' codes share nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from byhand.errors import ByHandError
from byhand.i18n import M_

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
_READ_AS = {"O": "0", "I": "1", "L": "1"}
LEVELS = ("easy", "medium", "hard")
#: A stable number per chapter (codes must open in later versions): never reorder, only append.
TOPIC_IDS = ("dot", "matmul", "linear", "relu", "mlp", "deep", "wide", "softmax", "cross-entropy", "gradient",
             "backprop", "resnet", "gradient-flow",
             # the new chapters, their ids fixed once so that codes printed today open tomorrow
             "embeddings", "attention", "multi-head", "transformer", "sampling",
             "rnn", "lstm", "batch-norm", "dropout", "moe", "autoencoder", "conv", "gan", "connections")
"""A chapter's id is its index here: append only, never reorder (sealed codes carry the index)."""
SEED_BITS = 38
SEED_OFFSET = 1 << (SEED_BITS - 1)
TAG_BYTES = 5
BODY_CHARS = 18
CHECK_CHARS = 2
QR_PREFIX = "BYHAND:SEALED:"
"""What a QR code holds before the code: upper case, so the QR uses its compact alphanumeric mode."""
SECRET_NAME = "class-secret.txt"
_HEADER = ("# byhand class secret. Keep it, and keep a copy: 'byhand key CODE' needs it to open the sealed\n"
           "# codes on the class sets made with it. Without it their answer keys cannot be made again.\n")


class SealError(ByHandError):
    """A code that does not open: a typo, or another class secret."""


@dataclass(frozen=True)
class Variant:
    """What a sealed code stands for: the exercise ``byhand.make(topic, seed=seed, level=level)``."""

    topic: str
    seed: int
    level: str


def _b32(data: bytes, chars: int) -> str:
    n = int.from_bytes(data, "big") << (chars * 5 - len(data) * 8)
    return "".join(ALPHABET[(n >> (5 * (chars - 1 - i))) & 31] for i in range(chars))


def _check(body: str) -> str:
    n = int.from_bytes(hashlib.sha256(("byhand-seal/1 check " + body).encode()).digest()[:2], "big") >> 6
    return ALPHABET[n >> 5] + ALPHABET[n & 31]


def normalize(text: str) -> str:
    """The code's characters, whatever the case, spaces, dashes or QR prefix; O/I/L read as 0/1/1."""
    t = text.strip()
    if t.upper().startswith(QR_PREFIX):
        t = t[len(QR_PREFIX):]
    return "".join(_READ_AS.get(c, c) for c in t.upper() if c not in " -_\t")


def looks_sealed(text: str) -> bool:
    """True for a string shaped like a sealed code (check characters right): no secret needed."""
    code = normalize(text)
    return (len(code) == BODY_CHARS + CHECK_CHARS and all(c in ALPHABET for c in code)
            and _check(code[:BODY_CHARS]) == code[BODY_CHARS:])


class Seal:
    """Seal and open variant codes with one class secret (32 random bytes)."""

    def __init__(self, secret: bytes, source: str = "the class secret") -> None:
        if len(secret) < 16:
            raise ByHandError("a class secret must be at least 16 bytes")
        self._mac = hmac.new(secret, b"byhand-seal/1 mac", hashlib.sha256).digest()
        self._enc = hmac.new(secret, b"byhand-seal/1 enc", hashlib.sha256).digest()
        self.source = source

    @classmethod
    def from_text(cls, text: str, purpose: str, source: str = "the server's secret") -> Seal:
        """A seal derived from another secret (e.g. the web server's own), separated by ``purpose``."""
        return cls(hmac.new(text.encode(), f"byhand-seal/1 {purpose}".encode(), hashlib.sha256).digest(), source)

    def _stream(self, tag: bytes) -> bytes:
        return hmac.new(self._enc, tag, hashlib.sha256).digest()[:6]

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._mac, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def code(self, topic: str, seed: int, level: str) -> str:
        """The sealed code of a variant, e.g. ``7KQ2M-XHD4P-9RT3V-KW8N0``."""
        if topic not in TOPIC_IDS:
            raise ByHandError(M_("chapter {topic!r} cannot be sealed in this version; print it with --open-codes", topic=topic))
        if level not in LEVELS:
            raise ByHandError(M_("level {level!r} is not known; use easy, medium or hard", level=level))
        if not -SEED_OFFSET <= seed < SEED_OFFSET:
            raise ByHandError(M_("seed {seed} is too large to seal (at most ±{seed_offset:,}); use a smaller --seed",
                                 seed=seed, seed_offset=SEED_OFFSET - 1))
        packed = (LEVELS.index(level) << SEED_BITS) | (seed + SEED_OFFSET)
        payload = bytes([TOPIC_IDS.index(topic)]) + packed.to_bytes(5, "big")
        tag = self._tag(payload)
        body = _b32(tag + bytes(a ^ b for a, b in zip(payload, self._stream(tag))), BODY_CHARS)
        code = body + _check(body)
        return "-".join(code[i:i + 5] for i in range(0, len(code), 5))

    def qr_text(self, code: str) -> str:
        """What the QR code holds: the code with a prefix saying what it is."""
        return QR_PREFIX + code

    def open(self, text: str) -> Variant:
        """The variant a code (or a scanned QR's text) stands for; SealError for a typo or another secret."""
        code = normalize(text)
        shown = text.strip()
        if len(code) != BODY_CHARS + CHECK_CHARS or any(c not in ALPHABET for c in code):
            raise SealError(M_("{shown!r} is not a sealed code: a code is 20 letters and digits, like 7KQ2M-XHD4P-9RT3V-KW8N0",
                               shown=shown))
        if _check(code[:BODY_CHARS]) != code[BODY_CHARS:]:
            raise SealError(M_("{shown!r} has a typo: its check characters do not match; read it again from the page",
                               shown=shown))
        n = int("".join(f"{ALPHABET.index(c):05b}" for c in code[:BODY_CHARS]), 2) >> (BODY_CHARS * 5 - 88)
        raw = n.to_bytes(11, "big")
        tag, ct = raw[:TAG_BYTES], raw[TAG_BYTES:]
        payload = bytes(a ^ b for a, b in zip(ct, self._stream(tag)))
        if not hmac.compare_digest(self._tag(payload), tag):
            raise SealError(M_("code {shown} was not sealed with {source}; open it with the secret of the class set it came from",
                               shown=shown, source=self.source))
        packed = int.from_bytes(payload[1:], "big")
        topic_id, level_id = payload[0], packed >> SEED_BITS
        if topic_id >= len(TOPIC_IDS) or level_id >= len(LEVELS):  # pragma: no cover - a forged code that passed the MAC
            raise SealError(M_("code {shown} names no exercise this version knows", shown=shown))
        return Variant(TOPIC_IDS[topic_id], (packed & ((1 << SEED_BITS) - 1)) - SEED_OFFSET, LEVELS[level_id])


# -- the class secret on disk -------------------------------------------------------------------


def default_secret_path() -> Path:
    """Where the class secret lives unless ``--secret FILE`` says otherwise: the user's config folder."""
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".config" / "byhand" / SECRET_NAME
    return Path(platformdirs.user_config_dir("byhand", appauthor=False)) / SECRET_NAME


def read_secret(path: Path) -> bytes:
    """The secret in ``path``; ByHandError if it is missing or not a byhand secret."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ByHandError(M_("no class secret at {path}; codes open only with the secret the class set was made with "
                             "(--secret FILE)",
                             path=path)) from None
    except IsADirectoryError:
        raise ByHandError(M_("the class secret {path} is a folder; give the secret's file", path=path)) from None
    except PermissionError:
        raise ByHandError(M_("the class secret {path} cannot be read: you have no permission to read it", path=path)) from None
    except UnicodeDecodeError:
        raise ByHandError(M_("{path} is not a byhand class secret (64 hex digits expected)", path=path)) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != 1 or not re.fullmatch(r"[0-9a-f]{64}", lines[0]):
        raise ByHandError(M_("{path} is not a byhand class secret (64 hex digits expected)", path=path))
    return bytes.fromhex(lines[0])


def load_or_create_secret(path: Path) -> tuple[bytes, bool]:
    """The secret in ``path``, made (32 random bytes, readable by the user only) if there is none yet;
    and whether it was just made."""
    if path.exists():
        return read_secret(path), False
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another byhand at the same moment: use that one
        return read_secret(path), False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(_HEADER + secret.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return secret, True
