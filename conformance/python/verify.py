"""A verifier of frontdesk identity tokens, contract v1 (docs/identity-token.md), written apart from the
TypeScript kit: the Python standard library plus jwcrypto (Debian: python3-jwcrypto) for the signature.

    claims = verify(token, body, jwks=jwks, issuer="https://gateway.example", audience="accounts",
                    now=int(time.time()))

`token` is the frontdesk-identity header value (None when absent), `body` the request body exactly as
received (bytes or str). Returns the verified claims; raises Refused with the reason code of the rule that
failed (docs/identity-token.md "Verifying — the rules").
"""
import base64
import hashlib
import json
import re
from decimal import Decimal
from urllib.parse import unquote_to_bytes

from jwcrypto import jwk as jose_jwk
from jwcrypto import jws as jose_jws

TOKEN_TYPE = "frontdesk-identity.v1+jwt"
ALGORITHMS = ("EdDSA", "ES256")
AUTH_METHODS = ("jwt", "introspection", "api_key", "mtls", "session", "anonymous", "service")
MAX_TOKEN_BYTES = 8192
MAX_TTL_SECONDS = 600
LIMITS = {"subject": 255, "items": 256, "item": 256, "issuer": 1024, "id": 4096, "token_id": 255}

JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
TYPE_FAMILY = re.compile(r"frontdesk-identity(?:\.v[0-9]+)?\+jwt")
ENCODED_NAMESPACE = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+")
# What an item may not contain: ECMAScript's \s (whitespace and line terminators) and \p{Cc} (C0, DEL, C1).
UNSAFE_IN_ITEM = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u0000-\u001f\u007f-\u009f]"
)
# The JWK a key must be to verify an algorithm (RFC 8037 §2, RFC 7518 §3.4).
KEY_TYPES = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}


class Refused(Exception):
    """The token breaks a rule; `reason` is its code (absent, malformed, alg, …, binding)."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def verify(token, body, *, jwks, issuer, audience, now, tolerance=5):
    header, payload = _verify_jws(token, jwks)
    _verify_registered_claims(payload, issuer, audience, now, tolerance)
    _verify_principal_claims(payload)
    if payload["rbh"] != request_binding(body):
        raise Refused("binding", "rbh is not the binding of this request")
    return payload


def _verify_jws(token, jwks):
    if not token:
        raise Refused("absent", "no identity header")
    if len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
        raise Refused("oversized", "identity header too large")
    if not JWS_COMPACT.fullmatch(token):
        raise Refused("malformed", "not a JWS compact serialisation")
    encoded_header, encoded_payload, _ = token.split(".")
    header = _json_object(encoded_header, "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise Refused("alg", f"alg {alg!r} is not allowed")
    typ = header.get("typ")
    normalised = typ.lower().removeprefix("application/") if isinstance(typ, str) else None
    if normalised != TOKEN_TYPE:
        if normalised is not None and TYPE_FAMILY.fullmatch(normalised):
            raise Refused("version", f"typ {typ} is another contract version")
        raise Refused("typ", f"typ {typ!r} is not {TOKEN_TYPE}")
    if "crit" in header:
        raise Refused("crit", "crit header member")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("kid", "no kid")
    candidates = [k for k in jwks.get("keys", []) if _usable(k, kid, alg)]
    if not candidates:
        raise Refused("kid", f"no key {kid} for {alg}")
    for candidate in candidates:
        signed = jose_jws.JWS()
        try:
            signed.deserialize(token)
            signed.verify(jose_jwk.JWK(**candidate), alg=alg)
            break
        except jose_jws.InvalidJWSSignature:
            continue
        except (jose_jws.InvalidJWSObject, ValueError) as error:
            raise Refused("malformed", str(error)) from error
    else:
        raise Refused("signature", "the signature does not verify")
    return header, _json_object(encoded_payload, "payload")


def _usable(key, kid, alg):
    kty, crv = KEY_TYPES[alg]
    return (
        key.get("kid") == kid
        and key.get("kty") == kty
        and key.get("crv") == crv
        and key.get("alg", alg) == alg
        and key.get("use", "sig") == "sig"
        and ("verify" in key["key_ops"] if isinstance(key.get("key_ops"), list) else True)
    )


def _json_object(segment, what):
    try:
        value = _parse_json(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8", "replace"))
    except ValueError as error:
        raise Refused("malformed", f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise Refused("malformed", f"{what} is not a JSON object")
    return value


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _verify_registered_claims(payload, issuer, audience, now, tolerance):
    if payload.get("iss") != issuer or not isinstance(payload.get("iss"), str):
        raise Refused("iss", "iss is not the gateway")
    if not isinstance(payload.get("aud"), str) or payload["aud"] != audience:
        raise Refused("aud", "aud is not this subgraph, as a single string")
    exp, iat, nbf = payload.get("exp"), payload.get("iat"), payload.get("nbf")
    if not _is_number(exp) or exp <= now - tolerance:
        raise Refused("exp", "exp missing or past")
    if "nbf" in payload and (not _is_number(nbf) or nbf > now + tolerance):
        raise Refused("nbf", "nbf in the future")
    if not _is_number(iat) or iat > now + tolerance:
        raise Refused("iat", "iat missing or in the future")
    if exp < iat or exp - iat > MAX_TTL_SECONDS:
        raise Refused("lifetime", f"lifetime {exp - iat} s is outside 0-{MAX_TTL_SECONDS} s")


def _length(text):
    """Length in UTF-16 code units, as the spec's bounds count it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _verify_principal_claims(payload):
    jti = payload.get("jti")
    if not isinstance(jti, str) or not 0 < _length(jti) <= LIMITS["token_id"]:
        raise Refused("claims", "jti")
    if not isinstance(payload.get("rbh"), str):
        raise Refused("claims", "rbh")
    amr = payload.get("amr")
    if not isinstance(amr, list) or len(amr) != 1 or not isinstance(amr[0], str) or amr[0] not in AUTH_METHODS:
        raise Refused("amr", "amr is not an array of one known method")
    method = amr[0]
    subject = _optional_string(payload, "sub", LIMITS["subject"])
    pid = _optional_string(payload, "pid", LIMITS["id"])
    if method == "anonymous":
        if subject is not None or pid is not None:
            raise Refused("claims", "an anonymous token has a sub or pid")
    elif subject is None or pid is None or parse_principal_id(pid) != (method, subject):
        raise Refused("claims", "pid is not the id of this amr and sub")
    _optional_string(payload, "orig_iss", LIMITS["issuer"])
    _optional_string(payload, "tenant", LIMITS["item"])
    _optional_string(payload, "client_id", LIMITS["item"])
    for claim in ("scope", "roles"):
        items = payload.get(claim)
        if not isinstance(items, list) or len(items) > LIMITS["items"] or not all(map(_is_item, items)):
            raise Refused("claims", f"{claim} is not an array of items without whitespace")


def _optional_string(payload, claim, limit):
    if claim not in payload:
        return None
    value = payload[claim]
    if not isinstance(value, str) or not 0 < _length(value) <= limit:
        raise Refused("claims", f"{claim} is not a string of 1-{limit} characters")
    return value


def _is_item(item):
    return isinstance(item, str) and 0 < _length(item) <= LIMITS["item"] and not UNSAFE_IN_ITEM.search(item)


def parse_principal_id(pid):
    """(method, subject) of `method ":" percent-encoded namespace ":" subject`, or None."""
    parts = pid.split(":", 2)
    if len(parts) != 3 or parts[0] not in AUTH_METHODS or not ENCODED_NAMESPACE.fullmatch(parts[1]):
        return None
    try:
        unquote_to_bytes(parts[1]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return parts[0], parts[2]


# The request binding: base64url(SHA-256(JCS([query, operationName ?? null, variables ?? {}]))), RFC 8785.


def request_binding(body):
    request = _parse_json(body if isinstance(body, str) else body.decode("utf-8"))
    operation_name = request.get("operationName")
    variables = request.get("variables")
    canonical = jcs([request["query"], operation_name, {} if variables is None else variables])
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _parse_json(text):
    """JSON as ECMAScript reads it: every number a double; NaN and Infinity are not JSON."""

    def refuse_constant(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_int=float, parse_constant=refuse_constant)


def jcs(value):
    """RFC 8785 JSON Canonicalization Scheme of a value parsed by _parse_json."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        # RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
        names = sorted(value, key=lambda name: name.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_string(name) + ":" + jcs(value[name]) for name in names) + "}"
    raise TypeError(f"{type(value).__name__} has no JSON form")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(text):
    """RFC 8785 §3.2.2.2 (ECMAScript JSON.stringify): the escapes above, other controls as \\u00xx."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _number(number):
    """RFC 8785 §3.2.2.3: ECMAScript Number.prototype.toString of a double."""
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("NaN and Infinity have no JSON form")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr gives the shortest digit string that reads back as the same double, as ECMAScript does.
    parts = Decimal(repr(abs(number))).as_tuple()
    digits = "".join(map(str, parts.digits))
    exponent = parts.exponent + len(digits) - len(digits.rstrip("0"))
    digits = digits.rstrip("0")
    k, n = len(digits), exponent + len(digits)  # the value is 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text
