"""Deterministic randomness and identifiers: the same seed gives the same bytes, everywhere.

- `stream(seed, *names)`: an independent NumPy generator per purpose (tenants, one tracking
  day, one month of behaviour...), so changing one part of the generator leaves the others'
  output alone and any day can be generated on its own.
- `entity_id(seed, kind, *key)`: a uuid5 for a generated row; `platform_id(kind, *key)`: a
  uuid5 for the platform's constants (plans, departments, staff), the same for every seed.
- `stripe_id(prefix, seed, *key)`: Stripe-looking ids (`ch_3Q...`, `sub_1Q...`).
- `uuid_strings(rng, n)`, `hex_strings(...)`, `token_strings(...)`: vectorised text columns.
- `mix64(values, salt)`: a stateless 64-bit hash, for attributes that are a pure function of
  an index (a web visitor's device, country and address depend only on its number).
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import polars as pl

# The namespace of every uuid5 the generator makes (a fixed random UUID).
NAMESPACE = uuid.UUID("6f1c2e0a-4b7d-4c1e-9a53-0d2b7e5f8c41")

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_TOKEN = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_DASH = ord("-")
_M1, _M2, _GOLDEN = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts' text, the same in every process (unlike `hash`)."""
    text = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def stream(seed: int, *names: object) -> np.random.Generator:
    """An independent generator for one purpose of one seeded run."""
    key = stable_hash(*names)
    entropy = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF, key >> 32]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def entity_id(seed: int, kind: str, *key: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "\x1f".join(["run", str(seed), kind, *map(str, key)]))


def event_uuid(*parts: object) -> str:
    """A random-looking (version 4 shaped) UUID text that is a function of `parts`; much
    cheaper than uuid5 for the hundreds of thousands of behaviour and audit events."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=16).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def platform_id(kind: str, *key: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "\x1f".join(["platform", kind, *map(str, key)]))


def base62(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_B62[digit])
    return "".join(chars)


def stripe_id(prefix: str, seed: int, *key: object, length: int = 22) -> str:
    """`<prefix>_<length base62 characters>`, e.g. ch_3QxT...; deterministic per key."""
    digest = hashlib.blake2b(
        "\x1f".join(["stripe", str(seed), prefix, *map(str, key)]).encode("utf-8"),
        digest_size=20,
    ).digest()
    return f"{prefix}_{base62(int.from_bytes(digest, 'big'), length)}"


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of `values` (any integer array) mixed with `salt`, as uint64."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) * _GOLDEN + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def unit_float(hashed: np.ndarray) -> np.ndarray:
    """uint64 hashes -> floats uniform in [0, 1)."""
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _hex_chars(raw: np.ndarray) -> np.ndarray:
    """(n, k) bytes -> (n, 2k) ASCII hex digits."""
    out = np.empty((raw.shape[0], raw.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out


def _as_strings(chars: np.ndarray) -> pl.Series:
    width = chars.shape[1]
    flat = np.ascontiguousarray(chars).view(f"S{width}").ravel()
    return pl.Series(flat).cast(pl.String)


def uuid_strings(rng: np.random.Generator, n: int) -> pl.Series:
    """n random version-4 UUIDs as canonical text."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _hex_chars(raw)
    chars = np.full((n, 36), _DASH, dtype=np.uint8)
    chars[:, 0:8] = hexed[:, 0:8]
    chars[:, 9:13] = hexed[:, 8:12]
    chars[:, 14:18] = hexed[:, 12:16]
    chars[:, 19:23] = hexed[:, 16:20]
    chars[:, 24:36] = hexed[:, 20:32]
    return _as_strings(chars)


def hex_strings(values: np.ndarray, prefix: str = "") -> pl.Series:
    """uint64 values as 16 hex digits each, after `prefix`."""
    raw = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    series = _as_strings(_hex_chars(raw))
    return (prefix + series) if prefix else series


def token_strings(rng: np.random.Generator, n: int, length: int, prefix: str = "") -> pl.Series:
    """n random URL-safe tokens (like gclid/fbclid values) of `length` characters."""
    chars = _TOKEN[rng.integers(0, 64, size=(n, length))]
    series = _as_strings(chars)
    return (prefix + series) if prefix else series
