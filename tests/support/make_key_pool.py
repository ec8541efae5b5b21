"""Write tests/support/key_pool.json: RSA key pairs the suite hands to accounts instead of generating them.

Test-only keys, public in the repository; regenerate with ``python -m tests.support.make_key_pool``.
"""

from __future__ import annotations

import json
from pathlib import Path

from activitypub.signing import generate_rsa_keypair

POOL = Path(__file__).parent / "key_pool.json"
SIZE = 64


def main() -> None:
    """Generate SIZE key pairs the way accounts get theirs and write them to POOL."""
    keys = [dict(zip(("private", "public"), generate_rsa_keypair(), strict=True)) for _ in range(SIZE)]
    POOL.write_text(json.dumps(keys, indent=1) + "\n", encoding="ascii")
    print(f"wrote {len(keys)} key pairs to {POOL}")


if __name__ == "__main__":
    main()
